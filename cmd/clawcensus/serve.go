package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/clawcensus/clawcensus/fingerprint"
	"github.com/clawcensus/clawcensus/store"
	"github.com/clawcensus/clawcensus/web"
)

func serveCommand() *cli.Command {
	return command(&cli.Command{
		Name:  "serve",
		Usage: "a read-only web view of the store: runs, trend, versions, auth, search by IP, CIDR or ASN, exports",
		Description: "Listens on loopback unless told otherwise; any other address needs --token (then open\n" +
			"http://HOST:PORT/?token=… once, or send Authorization: Bearer …). Pages carry no script and load\n" +
			"nothing from elsewhere. The store is opened read-only.",
		Flags: []cli.Flag{
			dbFlag,
			&cli.StringFlag{Name: "listen", Value: "127.0.0.1:8080", Usage: "address:port to listen on"},
			&cli.StringFlag{Name: "token", EnvVars: []string{"CLAWCENSUS_WEB_TOKEN"}, Usage: "require this token (needed off loopback)"},
		},
		Action: runServe,
	})
}

func runServe(c *cli.Context) error {
	host, _, err := net.SplitHostPort(c.String("listen"))
	if err != nil {
		return usagef("--listen %q: want address:port", c.String("listen"))
	}
	ip := net.ParseIP(host)
	loopback := host == "localhost" || (ip != nil && ip.IsLoopback())
	if !loopback && c.String("token") == "" {
		return usagef("--listen %s is not loopback: per-host data would be open to that network; add --token", c.String("listen"))
	}
	if t := c.String("token"); t != "" && len(t) < 16 {
		return usagef("--token: use at least 16 characters")
	}
	st, err := store.OpenReadOnly(c.Context, c.String("db"))
	if err != nil {
		return usageError{err}
	}
	defer st.Close()
	rules, err := fingerprint.LoadRules()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.String("listen"))
	if err != nil {
		return usageError{fmt.Errorf("--listen: %w", err)}
	}
	srv := &http.Server{
		Handler:           web.New(st, rules, web.Config{Token: c.String("token"), Methodology: methodologyOf}),
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 2 * time.Minute, IdleTimeout: time.Minute,
		MaxHeaderBytes: 64 << 10,
	}
	fmt.Fprintf(c.App.ErrWriter, "serving http://%s/ (read-only, %s store); Ctrl-C stops\n", ln.Addr(), st.Backend())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-c.Context.Done():
		ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Context), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		return nil
	}
}
