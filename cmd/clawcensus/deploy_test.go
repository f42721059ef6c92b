package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/clawcensus/clawcensus/census"
)

// deployRoot is deploy/ as seen from this package.
const deployRoot = "../../deploy"

// The deployment files as the tests read them: enough of compose and Kubernetes to follow every
// reference (files, secrets, ConfigMaps, volumes, environment) to where it ends.
type (
	composeFile struct {
		Services map[string]composeService
		Secrets  map[string]struct{ File string }
		Volumes  map[string]any
	}
	composeService struct {
		Build       any
		Image       string
		EnvFile     []string `yaml:"env_file"`
		Environment map[string]string
		Secrets     []string
		Volumes     []string
		CapAdd      []string `yaml:"cap_add"`
		Deploy      struct{ Replicas int }
		Command     []string
	}
	k8sDoc struct {
		Kind       string
		Metadata   struct{ Name string }
		Data       map[string]string
		StringData map[string]string `yaml:"stringData"`
		Spec       struct {
			Template    podTemplate
			JobTemplate struct {
				Spec struct{ Template podTemplate }
			} `yaml:"jobTemplate"`
			VolumeClaimTemplates []struct{ Metadata struct{ Name string } } `yaml:"volumeClaimTemplates"`
		}
	}
	podTemplate struct {
		Spec struct {
			SecurityContext struct {
				RunAsUser *int64 `yaml:"runAsUser"`
			} `yaml:"securityContext"`
			Containers []k8sContainer
			Volumes    []struct {
				Name      string
				ConfigMap *struct{ Name string } `yaml:"configMap"`
				Secret    *struct {
					SecretName string `yaml:"secretName"`
				}
				PersistentVolumeClaim *struct {
					ClaimName string `yaml:"claimName"`
				} `yaml:"persistentVolumeClaim"`
				EmptyDir any `yaml:"emptyDir"`
			}
		}
	}
	k8sContainer struct {
		Name, Image   string
		Command, Args []string
		Env           []struct {
			Name, Value string
			ValueFrom   *struct {
				ConfigMapKeyRef *keyRef `yaml:"configMapKeyRef"`
				SecretKeyRef    *keyRef `yaml:"secretKeyRef"`
			} `yaml:"valueFrom"`
		}
		VolumeMounts []struct {
			Name      string
			MountPath string `yaml:"mountPath"`
		} `yaml:"volumeMounts"`
		SecurityContext struct {
			AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
			Capabilities             struct{ Add, Drop []string }
		} `yaml:"securityContext"`
	}
	keyRef struct{ Name, Key string }
)

func (d k8sDoc) pods() []podTemplate {
	return []podTemplate{d.Spec.Template, d.Spec.JobTemplate.Spec.Template}
}

// clawcensus reports whether c runs the clawcensus binary.
func (c k8sContainer) clawcensus() bool {
	return len(c.Command) == 1 && strings.HasSuffix(c.Command[0], "/clawcensus")
}

func readCompose(t *testing.T) composeFile {
	t.Helper()
	var f composeFile
	readYAML(t, filepath.Join(deployRoot, "compose.yaml"), func(dec *yaml.Decoder) error { return dec.Decode(&f) })
	return f
}

// readK8s decodes every document of deploy/k8s, with the file it came from.
func readK8s(t *testing.T) map[string][]k8sDoc {
	t.Helper()
	out := map[string][]k8sDoc{}
	files, _ := filepath.Glob(filepath.Join(deployRoot, "k8s", "*.yaml"))
	for _, f := range files {
		readYAML(t, f, func(dec *yaml.Decoder) error {
			for {
				var d k8sDoc
				if err := dec.Decode(&d); err != nil {
					return err
				}
				out[filepath.Base(f)] = append(out[filepath.Base(f)], d)
			}
		})
	}
	return out
}

// systemdValues reads the Key=Value lines of a unit or environment file (comments and sections
// left out), a key given twice keeping both.
func systemdValues(t *testing.T, file string) map[string][]string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "[") {
			out[k] = append(out[k], v)
		}
	}
	return out
}

// deployCommands collects every clawcensus command line the deployment files run: the
// Containerfile's default command, the compose services, the Kubernetes containers and the
// systemd units. Each is the argument list after the binary.
func deployCommands(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	cf, err := os.ReadFile(filepath.Join(deployRoot, "Containerfile"))
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
	for name, svc := range readCompose(t).Services {
		if svc.Build != nil {
			out["compose "+name] = svc.Command
		}
	}
	for file, docs := range readK8s(t) {
		for _, d := range docs {
			for _, pod := range d.pods() {
				for i, c := range pod.Spec.Containers {
					if c.clawcensus() {
						out[fmt.Sprintf("%s container %d", file, i)] = c.Args
					}
				}
			}
		}
	}
	units, _ := filepath.Glob(filepath.Join(deployRoot, "systemd", "*.service"))
	for _, f := range units {
		for _, line := range systemdValues(t, f)["ExecStart"] {
			out[filepath.Base(f)] = strings.Fields(line)[1:]
		}
	}
	return out
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
// the files never drift from the CLI, with the example lists shipped in deploy/etc (the
// targets, exclusions, opt-out register and authorization record every deployment mounts at
// /etc/clawcensus): plans as --dry-run (nothing is sent; the example targets are the lab range
// 198.18.0.0/15, which takes --lab and that scope), workers with --help (their flags must
// parse). As shipped, without --lab, a plan stops at the example targets: nothing is sent by
// accident.
func TestDeployFilesMatchTheCLI(t *testing.T) {
	cmds := deployCommands(t)
	for _, want := range []string{"Containerfile CMD", "compose planner", "compose worker-1", "compose worker-2",
		"worker.yaml container 0", "plan-cronjob.yaml container 0", "clawcensus-worker.service", "clawcensus-plan.service"} {
		if _, ok := cmds[want]; !ok {
			t.Errorf("no command found for %s (found %d)", want, len(cmds))
		}
	}
	etc, err := filepath.Abs(filepath.Join(deployRoot, "etc"))
	if err != nil {
		t.Fatal(err)
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
				if !slices.Contains(run, "--every") || !slices.Contains(run, "--series") {
					t.Errorf("%s plans without --every and --series: not a recurring census", where)
				}
				db := filepath.Join(t.TempDir(), "d.db")
				// As shipped: the example targets are refused, before a run exists.
				shipped := runCLI(t, "", append(run[:1:1], append([]string{"--dry-run", "--scope", "198.18.0.0/15", "--db", db}, run[1:]...)...)...)
				if shipped.code != exitUsage || !strings.Contains(shipped.stderr, "no targets left: every target is excluded by reserved ranges") {
					t.Errorf("the shipped example targets were not refused: exit %d\n%s%s", shipped.code, shipped.stdout, shipped.stderr)
				}
				run = append(run[:1], append([]string{"--dry-run", "--lab", "--scope", "198.18.0.0/15", "--db", db}, run[1:]...)...)
			case "worker":
				run = append(run, "--help")
			default:
				t.Fatalf("unknown command %q", run[0])
			}
			res := runCLI(t, "", run...)
			if res.code != 0 {
				t.Fatalf("clawcensus %s: exit %d\n%s", strings.Join(run, " "), res.code, res.stderr)
			}
			// 198.18.0.0/15 less the example exclusion and opt-out (a /24 each).
			if run[0] == "plan" && (!strings.Contains(res.stdout, "targets: 130560 addresses") || !strings.Contains(res.stdout, "nothing was sent") ||
				strings.Contains(res.stdout, "would be refused")) {
				t.Errorf("dry run of %s:\n%s", where, res.stdout)
			}
		})
	}
}

// dbServer is the database a deployment starts, as its own files say.
type dbServer struct {
	hosts          []string // the names it answers to
	user, database string
	password       string
}

// checkDSN follows one clawcensus process's store to its password: the URL must name the
// deployment's database server, and the password must come from the URL, PGPASSWORD or a
// PGPASSFILE line for its user and database; and it must be the server's.
func checkDSN(t *testing.T, where string, env map[string]string, pgpass func(string) string, srv dbServer) {
	t.Helper()
	dsn := env["CLAWCENSUS_DB"]
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Errorf("%s: CLAWCENSUS_DB %q is not a postgres:// URL (%v)", where, dsn, err)
		return
	}
	user, db := u.User.Username(), strings.TrimPrefix(u.Path, "/")
	if srv.hosts != nil && !slices.Contains(srv.hosts, u.Hostname()) {
		t.Errorf("%s: CLAWCENSUS_DB names host %q; the deployment's database is %v", where, u.Hostname(), srv.hosts)
	}
	if user != srv.user || db != srv.database {
		t.Errorf("%s: CLAWCENSUS_DB is user %q database %q; the server makes %q %q", where, user, db, srv.user, srv.database)
	}
	password, inURL := u.User.Password()
	switch {
	case inURL:
	case env["PGPASSWORD"] != "":
		password = env["PGPASSWORD"]
	case env["PGPASSFILE"] != "":
		for _, line := range strings.Split(pgpass(env["PGPASSFILE"]), "\n") {
			f := strings.SplitN(strings.TrimSpace(line), ":", 5)
			if len(f) == 5 && !strings.HasPrefix(f[0], "#") && (f[2] == "*" || f[2] == db) && (f[3] == "*" || f[3] == user) {
				password = f[4]
				break
			}
		}
		if password == "" {
			t.Errorf("%s: PGPASSFILE %s has no line for user %q database %q", where, env["PGPASSFILE"], user, db)
		}
	default:
		t.Errorf("%s: no password for %s: neither in the URL, PGPASSWORD nor PGPASSFILE", where, dsn)
	}
	if password != "" && srv.password != "" && password != srv.password {
		t.Errorf("%s: the password clawcensus uses is not the one the database was given", where)
	}
	if env["CLAWCENSUS_SCOPE"] == "" {
		t.Errorf("%s: no CLAWCENSUS_SCOPE: every deployment confines its probes", where)
	}
}

// listFiles checks that every /etc/clawcensus file a command names is in files (the lists
// mounted there).
func listFiles(t *testing.T, where string, args []string, files func(name string) bool) {
	t.Helper()
	for _, a := range args {
		if p, ok := strings.CutPrefix(strings.TrimPrefix(a, "@"), "/etc/clawcensus/"); ok && !files(p) {
			t.Errorf("%s reads /etc/clawcensus/%s, which its deployment does not ship", where, p)
		}
	}
}

// spoolOf is the --spool a worker's command names.
func spoolOf(args []string) string {
	if i := slices.Index(args, "--spool"); i >= 0 && i+1 < len(args) {
		return args[i+1]
	}
	return ""
}

func TestComposeIsConsistent(t *testing.T) {
	f := readCompose(t)
	pg, ok := f.Services["postgres"]
	if !ok {
		t.Fatal("compose.yaml has no postgres service")
	}
	secretFile := func(service composeService, mounted string) string {
		name, ok := strings.CutPrefix(mounted, "/run/secrets/")
		if !ok || !slices.Contains(service.Secrets, name) {
			t.Errorf("%s is not a secret the service mounts (%v)", mounted, service.Secrets)
			return ""
		}
		b, err := os.ReadFile(filepath.Join(deployRoot, f.Secrets[name].File))
		if err != nil {
			t.Errorf("secret %s: %v", name, err)
		}
		return string(b)
	}
	srv := dbServer{hosts: []string{"postgres"}, user: pg.Environment["POSTGRES_USER"], database: pg.Environment["POSTGRES_DB"],
		password: strings.TrimRight(secretFile(pg, pg.Environment["POSTGRES_PASSWORD_FILE"]), "\n")}
	if srv.password == "" || pg.Environment["POSTGRES_PASSWORD"] != "" {
		t.Errorf("postgres: the password must come from a secret file (POSTGRES_PASSWORD_FILE), got %v", pg.Environment)
	}
	spools := map[string]string{}
	for name, svc := range f.Services {
		for _, s := range svc.Secrets {
			if _, ok := f.Secrets[s]; !ok {
				t.Errorf("%s: secret %s is not declared", name, s)
			} else if _, err := os.Stat(filepath.Join(deployRoot, f.Secrets[s].File)); err != nil {
				t.Errorf("%s: secret %s: %v", name, s, err)
			}
		}
		mounts := map[string]string{} // container path → source
		for _, v := range svc.Volumes {
			src, dst, _ := strings.Cut(v, ":")
			dst, _, _ = strings.Cut(dst, ":")
			mounts[dst] = src
			if strings.HasPrefix(src, ".") {
				if _, err := os.Stat(filepath.Join(deployRoot, src)); err != nil {
					t.Errorf("%s: bind mount %s: %v", name, src, err)
				}
			} else if _, ok := f.Volumes[src]; !ok {
				t.Errorf("%s: volume %s is not declared", name, src)
			}
		}
		if svc.Build == nil {
			continue
		}
		env := map[string]string{}
		for _, ef := range svc.EnvFile {
			for k, v := range systemdValues(t, filepath.Join(deployRoot, ef)) {
				env[k] = v[len(v)-1]
			}
		}
		for k, v := range svc.Environment {
			env[k] = v
		}
		checkDSN(t, "compose "+name, env, func(p string) string { return secretFile(svc, p) }, srv)
		listFiles(t, "compose "+name, svc.Command, func(p string) bool {
			_, err := os.Stat(filepath.Join(deployRoot, mounts["/etc/clawcensus"], p))
			return err == nil
		})
		if svc.Command[0] == "worker" {
			spool := spoolOf(svc.Command)
			vol := mounts[spool]
			switch {
			case spool == "" || vol == "" || strings.HasPrefix(vol, "."):
				t.Errorf("compose %s: its spool %q is not a volume of its own", name, spool)
			case spools[vol] != "":
				t.Errorf("compose %s and %s share the spool volume %s", name, spools[vol], vol)
			case svc.Deploy.Replicas > 1:
				t.Errorf("compose %s: %d replicas would share the spool volume %s", name, svc.Deploy.Replicas, vol)
			case !slices.Contains(svc.CapAdd, "NET_RAW"):
				t.Errorf("compose %s: NET_RAW not allowed: the image's binary (cap_net_raw) would not start", name)
			}
			spools[vol] = name
		}
	}
	if len(spools) < 2 {
		t.Errorf("compose runs %d workers, want two or more", len(spools))
	}
}

func TestKubernetesIsConsistent(t *testing.T) {
	docs := readK8s(t)
	configMaps, secrets := map[string]map[string]string{}, map[string]map[string]string{}
	var srv dbServer
	for file, l := range docs {
		for _, d := range l {
			switch d.Kind {
			case "ConfigMap":
				configMaps[d.Metadata.Name] = d.Data
			case "Secret":
				secrets[d.Metadata.Name] = d.StringData
			case "Service":
				if file == "postgres-example.yaml" {
					srv.hosts = append(srv.hosts, d.Metadata.Name)
				}
			}
		}
	}
	// The example database, and what it was given.
	for _, d := range docs["postgres-example.yaml"] {
		for _, c := range d.Spec.Template.Spec.Containers {
			for _, e := range c.Env {
				switch e.Name {
				case "POSTGRES_USER":
					srv.user = e.Value
				case "POSTGRES_DB":
					srv.database = e.Value
				case "POSTGRES_PASSWORD":
					if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
						t.Fatal("postgres-example: POSTGRES_PASSWORD must come from a Secret")
					}
					srv.password = secrets[e.ValueFrom.SecretKeyRef.Name][e.ValueFrom.SecretKeyRef.Key]
				}
			}
		}
	}
	if srv.password == "" {
		t.Fatal("postgres-example: no password")
	}
	workers := 0
	for file, l := range docs {
		for _, d := range l {
			for _, pod := range d.pods() {
				volumes := map[string]bool{}
				claims := map[string]bool{}
				for _, v := range d.Spec.VolumeClaimTemplates {
					volumes[v.Metadata.Name], claims[v.Metadata.Name] = true, true
				}
				lists := map[string]string{} // mount path → ConfigMap
				for _, v := range pod.Spec.Volumes {
					volumes[v.Name] = true
					if v.ConfigMap != nil {
						if configMaps[v.ConfigMap.Name] == nil {
							t.Errorf("%s: volume %s: no ConfigMap %s is shipped", file, v.Name, v.ConfigMap.Name)
						}
						lists[v.Name] = v.ConfigMap.Name
					}
					if v.PersistentVolumeClaim != nil {
						t.Errorf("%s: volume %s is one claim for every replica", file, v.Name)
					}
				}
				for _, c := range pod.Spec.Containers {
					where := fmt.Sprintf("%s %s %s", file, d.Metadata.Name, c.Name)
					env := map[string]string{}
					for _, e := range c.Env {
						env[e.Name] = e.Value
						if e.ValueFrom == nil {
							continue
						}
						if r := e.ValueFrom.ConfigMapKeyRef; r != nil {
							v, ok := configMaps[r.Name][r.Key]
							if !ok {
								t.Errorf("%s: %s from ConfigMap %s key %s, which is not shipped", where, e.Name, r.Name, r.Key)
							}
							env[e.Name] = v
						}
						if r := e.ValueFrom.SecretKeyRef; r != nil {
							v, ok := secrets[r.Name][r.Key]
							if !ok {
								t.Errorf("%s: %s from Secret %s key %s, which is not shipped", where, e.Name, r.Name, r.Key)
							}
							env[e.Name] = v
						}
					}
					mounts := map[string]string{}
					for _, m := range c.VolumeMounts {
						if !volumes[m.Name] {
							t.Errorf("%s: mounts %s, which is no volume of the pod", where, m.Name)
						}
						mounts[m.MountPath] = m.Name
					}
					if !c.clawcensus() {
						continue
					}
					checkDSN(t, where, env, nil, srv)
					listFiles(t, where, c.Args, func(p string) bool {
						_, ok := configMaps[lists[mounts["/etc/clawcensus"]]][p]
						return ok
					})
					if !slices.Contains(c.SecurityContext.Capabilities.Add, "NET_RAW") || c.SecurityContext.AllowPrivilegeEscalation != nil && !*c.SecurityContext.AllowPrivilegeEscalation {
						t.Errorf("%s: the image's binary (cap_net_raw) needs NET_RAW allowed and no no_new_privs", where)
					}
					if u := pod.Spec.SecurityContext.RunAsUser; u == nil || *u != 65532 {
						t.Errorf("%s: runs as %v, want the image's user 65532", where, u)
					}
					if c.Args[0] == "worker" {
						workers++
						if spool := spoolOf(c.Args); !claims[mounts[spool]] {
							t.Errorf("%s: the spool %q is not a volume claim of each pod's own", where, spool)
						}
					}
				}
			}
		}
	}
	if workers == 0 {
		t.Error("no worker in deploy/k8s")
	}
	// The lists are deploy/etc's, byte for byte.
	for name, content := range configMaps["clawcensus-lists"] {
		b, err := os.ReadFile(filepath.Join(deployRoot, "etc", name))
		if err != nil || string(b) != content {
			t.Errorf("ConfigMap clawcensus-lists %s differs from deploy/etc/%s (%v)", name, name, err)
		}
	}
}

func TestSystemdIsConsistent(t *testing.T) {
	dir := filepath.Join(deployRoot, "systemd")
	sysusers, err := os.ReadFile(filepath.Join(dir, "clawcensus.sysusers"))
	if err != nil {
		t.Fatal(err)
	}
	var user string
	for _, line := range strings.Split(string(sysusers), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "u" {
			user = f[1]
		}
	}
	env := map[string]string{}
	for k, v := range systemdValues(t, filepath.Join(dir, "env.example")) {
		env[k] = v[len(v)-1]
	}
	units, _ := filepath.Glob(filepath.Join(dir, "*.service"))
	for _, u := range units {
		v := systemdValues(t, u)
		if got := v["User"]; len(got) != 1 || got[0] != user {
			t.Errorf("%s: User=%v, the sysusers file makes %q", filepath.Base(u), got, user)
		}
		if got := v["EnvironmentFile"]; len(got) != 1 || got[0] != "/etc/clawcensus/env" {
			t.Errorf("%s: EnvironmentFile=%v, want /etc/clawcensus/env (env.example)", filepath.Base(u), got)
		}
		listFiles(t, filepath.Base(u), strings.Fields(v["ExecStart"][0]), func(p string) bool {
			_, err := os.Stat(filepath.Join(deployRoot, "etc", p))
			return err == nil
		})
	}
	timer := systemdValues(t, filepath.Join(dir, "clawcensus-plan.timer"))
	if _, err := os.Stat(filepath.Join(dir, "clawcensus-plan.service")); err != nil || timer["OnCalendar"] == nil {
		t.Errorf("the timer runs no plan service (%v)", err)
	}
	// /etc/clawcensus/pgpass is deploy/etc/pgpass; the database is the operator's own.
	checkDSN(t, "env.example", env, func(p string) string {
		b, err := os.ReadFile(filepath.Join(deployRoot, "etc", path.Base(p)))
		if err != nil || path.Dir(p) != "/etc/clawcensus" {
			t.Errorf("PGPASSFILE %s is not a file of deploy/etc (%v)", p, err)
		}
		return string(b)
	}, dbServer{user: "clawcensus", database: "clawcensus"})
}

// TestContainerfileGrantsRawSockets: the image's binary carries cap_net_raw (set in the build
// stage, where libcap2-bin is installed, by the script that lays out the image), the image runs
// as the user that script makes, and its spool is a volume. deploy/lab/container-check.sh builds
// and runs it.
func TestContainerfileGrantsRawSockets(t *testing.T) {
	cf, err := os.ReadFile(filepath.Join(deployRoot, "Containerfile"))
	if err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile(filepath.Join(deployRoot, "image-rootfs.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"libcap2-bin", "deploy/image-rootfs.sh /rootfs /out/clawcensus", "FROM scratch",
		"COPY --from=build /rootfs /", "USER 65532:65532", "VOLUME /var/lib/clawcensus/spool"} {
		if !strings.Contains(string(cf), want) {
			t.Errorf("Containerfile lacks %q", want)
		}
	}
	for _, want := range []string{`setcap cap_net_raw+ep "$root/usr/local/bin/clawcensus"`, "clawcensus:x:65532:65532:",
		`-o 65532 -g 65532 "$root/var/lib/clawcensus" "$root/var/lib/clawcensus/spool"`} {
		if !strings.Contains(string(script), want) {
			t.Errorf("image-rootfs.sh lacks %q", want)
		}
	}
	if spool := spoolOf(deployCommands(t)["Containerfile CMD"]); spool != "/var/lib/clawcensus/spool" {
		t.Errorf("the default command's spool %q is not the image's volume", spool)
	}
}

// TestShippedAuthorizationIsARecord: the example authorization record reads as one.
func TestShippedAuthorizationIsARecord(t *testing.T) {
	text, err := census.ReadAuthorization("@" + filepath.Join(deployRoot, "etc", "authorization.txt"))
	if err != nil || !strings.HasPrefix(text, "Requested by: ") || !strings.Contains(text, "; Purpose: ") || !strings.Contains(text, "; Window: ") {
		t.Errorf("deploy/etc/authorization.txt reads %q (%v)", text, err)
	}
}
