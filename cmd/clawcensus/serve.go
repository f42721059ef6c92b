package main

import (
	"fmt"
	"net"

	"github.com/urfave/cli/v2"

	"github.com/clawcensus/clawcensus/web"
)

func serveCommand() *cli.Command {
	return command(&cli.Command{
		Name:        "serve",
		Usage:       "a read-only web view of the store: runs, trend, versions, auth, search by IP, CIDR or ASN, exports",
		Description: web.ServeHelp,
		Flags: []cli.Flag{
			dbFlag, fingerprintsFlag, dataFlag,
			&cli.StringFlag{Name: "listen", Value: "127.0.0.1:8080", Usage: "address:port to listen on"},
			&cli.StringFlag{Name: "token", EnvVars: []string{"CLAWCENSUS_WEB_TOKEN"}, Usage: "require this token (needed off loopback)"},
			&cli.StringSliceFlag{Name: "host", Usage: "also answer to `NAME` or NAME:PORT (a proxy's name); other names get 421"},
		},
		Action: runServe,
	})
}

func runServe(c *cli.Context) error {
	if err := web.CheckListen(c.String("listen"), c.String("token"), c.StringSlice("host")); err != nil {
		return usageError{err}
	}
	st, err := openReadOnly(c)
	if err != nil {
		return err
	}
	defer st.Close()
	rules, err := loadRules(c)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.String("listen"))
	if err != nil {
		return usageError{fmt.Errorf("--listen: %w", err)}
	}
	fmt.Fprintf(c.App.ErrWriter, "serving http://%s/ (read-only, %s store); Ctrl-C stops\n", ln.Addr(), st.Backend())
	return web.Serve(c.Context, ln, web.New(st, rules, web.Config{Token: c.String("token"), Methodology: methodologyOf,
		Listen: ln.Addr().String(), Hosts: c.StringSlice("host")}))
}
