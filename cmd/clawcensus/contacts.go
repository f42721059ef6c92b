package main

import (
	"github.com/urfave/cli/v2"

	"github.com/clawcensus/clawcensus/contacts"
)

func contactsCommand() *cli.Command {
	file := &cli.StringFlag{Name: "file", Value: "clawcensus-contacts.bin", Usage: "the contacts FILE import writes and lookup reads"}
	return command(&cli.Command{Name: "contacts", Usage: "abuse contacts from RIR dumps, delegated stats and the CERT's own CSV, offline", Description: contacts.Help,
		Subcommands: []*cli.Command{command(&cli.Command{Name: "import", Usage: "read RIR dumps, delegated stats and CSV into the contacts --file", ArgsUsage: "FILE...", Flags: []cli.Flag{file}, Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return usagef("contacts import FILE...: name the files to import")
			}
			return contacts.ImportTo(c.Context, c.String("file"), c.App.Writer, c.Args().Slice()...)
		}}), command(&cli.Command{Name: "lookup", Usage: "the contact of an IP or AS and the objects that gave it", ArgsUsage: "IP|ASN", Flags: []cli.Flag{file}, Action: func(c *cli.Context) error {
			if err := contacts.LookupIn(c.String("file"), c.Args().Slice(), c.App.Writer); err != nil {
				return usageError{err} // no file, not a contacts file, not one IP or AS
			}
			return nil
		}})}})
}
