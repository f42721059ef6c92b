package main

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// deployCommands collects every clawcensus command line the deployment files run: the
// Containerfile's default command, the compose services, the Kubernetes containers and the
// systemd units. Each is the argument list after the binary.
func deployCommands(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	root := "../../deploy"

	cf, err := os.ReadFile(filepath.Join(root, "Containerfile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(cf), "\n") {
		if rest, ok := strings.CutPrefix(line, "CMD "); ok {
			var args []string
			if err := yaml.Unmarshal([]byte(rest), &args); err != nil {
				t.Fatalf("Containerfile CMD: %v", err)
			}
			out["Containerfile CMD"] = args
		}
	}

	var compose struct {
		Services map[string]struct {
			Build   any      `yaml:"build"`
			Command []string `yaml:"command"`
		} `yaml:"services"`
	}
	readYAML(t, filepath.Join(root, "compose.yaml"), func(dec *yaml.Decoder) error { return dec.Decode(&compose) })
	for name, svc := range compose.Services {
		if svc.Build != nil {
			out["compose "+name] = svc.Command
		}
	}

	k8s, _ := filepath.Glob(filepath.Join(root, "k8s", "*.yaml"))
	for _, f := range k8s {
		readYAML(t, f, func(dec *yaml.Decoder) error {
			for {
				var doc map[string]any
				if err := dec.Decode(&doc); err != nil {
					return err
				}
				for i, c := range containers(doc) {
					if len(c.Command) == 1 && strings.HasSuffix(c.Command[0], "/clawcensus") {
						out[filepath.Base(f)+" container "+string(rune('0'+i))] = c.Args
					}
				}
			}
		})
	}

	units, _ := filepath.Glob(filepath.Join(root, "systemd", "*.service"))
	for _, f := range units {
		file, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(file)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "ExecStart="); ok {
				fields := strings.Fields(rest)
				out[filepath.Base(f)] = fields[1:]
			}
		}
		file.Close()
	}
	return out
}

type container struct {
	Command, Args []string
}

// containers finds the pod template's containers of a Deployment or a CronJob.
func containers(doc map[string]any) []container {
	b, _ := yaml.Marshal(doc)
	var d struct {
		Spec struct {
			Template struct {
				Spec struct{ Containers []container }
			}
			JobTemplate struct {
				Spec struct {
					Template struct {
						Spec struct{ Containers []container }
					}
				}
			} `yaml:"jobTemplate"`
		}
	}
	yaml.Unmarshal(b, &d)
	return append(d.Spec.Template.Spec.Containers, d.Spec.JobTemplate.Spec.Template.Spec.Containers...)
}

func readYAML(t *testing.T, path string, decode func(*yaml.Decoder) error) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := decode(yaml.NewDecoder(bytes.NewReader(b))); err != nil && err.Error() != "EOF" {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestDeployFilesMatchTheCLI runs every command line of deploy/ against the built binary, so
// the files never drift from the CLI: plans as --dry-run (nothing is sent, and the tests'
// scope confines them anyway; the targets are loopback under --lab), workers with --help (their
// flags must parse).
func TestDeployFilesMatchTheCLI(t *testing.T) {
	cmds := deployCommands(t)
	for _, want := range []string{"Containerfile CMD", "compose planner", "compose worker", "worker.yaml container 0",
		"plan-cronjob.yaml container 0", "clawcensus-worker.service", "clawcensus-plan.service"} {
		if _, ok := cmds[want]; !ok {
			t.Errorf("no command found for %s (found %d)", want, len(cmds))
		}
	}
	// The files' inputs, as the containers and machines would have them.
	etc := t.TempDir()
	// Loopback targets (the plans get --lab here); the tests' scope confines them anyway.
	for name, content := range map[string]string{"targets.txt": "127.0.0.0/24\n", "exclude.txt": "127.0.0.128/25\n",
		"optout.csv": "network,requested_by,requested_at,verification,reason\n127.0.0.64/26,noc@example.net,2026-10-01,WHOIS,do not scan\n"} {
		if err := os.WriteFile(filepath.Join(etc, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	vars := regexp.MustCompile(`\$\{[A-Z_]+\}`)
	for where, args := range cmds {
		t.Run(where, func(t *testing.T) {
			var run []string
			for _, a := range args {
				a = strings.ReplaceAll(a, "/etc/clawcensus", etc)
				a = strings.ReplaceAll(a, "/var/lib/clawcensus", t.TempDir())
				run = append(run, vars.ReplaceAllString(a, "test-value"))
			}
			switch run[0] {
			case "plan", "scan":
				run = append(run[:1], append([]string{"--dry-run", "--lab", "--db", filepath.Join(t.TempDir(), "d.db")}, run[1:]...)...)
			case "worker":
				run = append(run, "--help")
			default:
				t.Fatalf("unknown command %q", run[0])
			}
			res := runCLI(t, "", run...)
			if res.code != 0 {
				t.Fatalf("clawcensus %s: exit %d\n%s", strings.Join(run, " "), res.code, res.stderr)
			}
			if run[0] == "plan" && (!strings.Contains(res.stdout, "targets: 64 addresses") || !strings.Contains(res.stdout, "nothing was sent") ||
				strings.Contains(res.stdout, "would be refused")) {
				t.Errorf("dry run of %s:\n%s", where, res.stdout)
			}
		})
	}
}
