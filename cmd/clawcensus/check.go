package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/clawcensus/clawcensus/census"
	"github.com/clawcensus/clawcensus/report"
	"github.com/clawcensus/clawcensus/scanner"
)

func checkCommand() *cli.Command {
	return command(&cli.Command{
		Name:        "check",
		Usage:       "an operator's verdict on their own hosts: is an OpenClaw gateway exposed, and how to fix it",
		ArgsUsage:   "TARGET...",
		Description: report.CheckHelp,
		Flags:       flagsOf(forCheck),

		Action: runCheck,
	})
}

func runCheck(c *cli.Context) error {
	format := c.String("format")
	if format != "text" && format != "json" {
		return usagef("--format %q: want text or json", format)
	}
	if c.NArg() == 0 {
		return usagef("no targets: clawcensus check TARGET... (your own hosts or ranges)")
	}
	if err := refuseEmpty(c, forCheck); err != nil {
		return err
	}
	var targets []string
	for _, a := range c.Args().Slice() {
		targets = append(targets, strings.Split(a, ",")...)
	}
	ports, err := scanner.ParsePorts(c.String("ports"))
	if err != nil {
		return usageError{err}
	}
	retries := c.Int("retries")
	p, err := census.NewCheckPlan(census.CheckConfig{Targets: targets, Ports: ports, Scope: c.String("scope"), Rate: c.Int("rate"),
		Method: c.String("scan-type"), Retries: &retries, Timeout: c.Duration("timeout"), HTTPTimeout: c.Duration("http-timeout"),
		FirstByte: c.Duration("first-byte-timeout"), ActiveProbe: c.StringSlice("active-probe"), Knowledge: knowledge(c)})
	if err != nil {
		return usageError{err}
	}
	raw, err := lowerPrivileges(c, p.Method == scanner.MethodSYN, nil, nil)
	if err != nil {
		return err
	}
	defer raw.Close()
	obs, err := census.Check(c.Context, p, version, raw, nil)
	if err != nil {
		return err
	}
	rules, err := p.Rules()
	if err != nil {
		return err
	}
	res := report.Check(obs, targets, census.PortList(p.Ports), report.NewJudge(rules))
	if err := res.Write(c.App.Writer, format); err != nil {
		return fmt.Errorf("stdout: %w", err)
	}
	if res.Exposed > 0 {
		return errExposed
	}
	return nil
}
