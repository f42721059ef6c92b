package main

import (
	"errors"

	"github.com/urfave/cli/v2"

	"github.com/clawcensus/clawcensus/census"
	"github.com/clawcensus/clawcensus/contacts"
	"github.com/clawcensus/clawcensus/report"
	"github.com/clawcensus/clawcensus/store"
)

var contactsVersionFlag = &cli.Int64Flag{Name: "contacts-version", Usage: "the contacts version to read (default: the newest; contacts list shows them)"}

func contactsCommand() *cli.Command {
	versions := func(c *cli.Context) error { // import FILE... adds a version; both list them
		if (c.Command.Name == "import") != (c.NArg() > 0) {
			return usagef("contacts import FILE... names the files to import; contacts list takes none")
		}
		vs, err := census.ContactVersionsAt(c.Context, c.String("db"), contacts.Config{Progress: c.App.ErrWriter, Formats: report.Formats}, c.Args().Slice()...)
		if errors.Is(err, store.ErrUnavailable) || errors.Is(err, store.ErrNewerSchema) {
			return usageError{err}
		} else if err != nil {
			return err
		}
		return report.WriteContactVersions(c.App.Writer, vs)
	}
	return command(&cli.Command{Name: "contacts", Usage: "abuse contacts from RIR dumps, delegated stats and the CERT's own CSV, offline, versioned in the store", Description: contacts.Help,
		Subcommands: []*cli.Command{command(&cli.Command{Name: "import", Usage: "read RIR dumps, delegated stats and CSV into a new contacts version in the store", ArgsUsage: "FILE...", Flags: []cli.Flag{dbFlag}, Action: versions}),
			command(&cli.Command{Name: "list", Usage: "the contacts versions in the store, oldest first, with their files", Flags: []cli.Flag{dbFlag}, Action: versions}),
			command(&cli.Command{Name: "lookup", Usage: "the contact of an IP or AS and the objects that gave it", ArgsUsage: "IP|ASN", Flags: []cli.Flag{dbFlag, contactsVersionFlag}, Action: func(c *cli.Context) error {
				if c.NArg() != 1 {
					return usagef("contacts lookup IP|ASN: give one address or AS")
				}
				r, err := census.LookupContact(c.Context, c.String("db"), c.Int64("contacts-version"), c.Args().First())
				if err != nil {
					return usageError{err} // no store, no contacts or not that version, not one IP or AS
				}
				return r.WriteText(c.App.Writer)
			}})}})
}
