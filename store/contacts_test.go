package store

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/clawcensus/clawcensus/store/storetest"
)

// TestContactVersions is the contract of contacts versions on every backend: each import a new
// version, the newest read unless one is named, the data back byte for byte across pieces, a
// version whole or not at all (a failed or cancelled write leaves none), readable from a
// read-only store.
func TestContactVersions(t *testing.T) {
	for name, dsn := range storetest.Backends() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db := dsn(t)
			st := openTest(t, db)
			read := func(st Store, id int64) ([]byte, ContactVersion, error) {
				var got []byte
				v, err := st.ReadContacts(ctx, id, func(r io.Reader) (err error) {
					got, err = io.ReadAll(r)
					return err
				})
				return got, v, err
			}
			if _, _, err := read(st, 0); !errors.Is(err, ErrNoContacts) {
				t.Fatalf("an empty store: %v, want ErrNoContacts", err)
			}
			big := make([]byte, 5*contactPiece/2)
			rng := rand.NewChaCha8([32]byte{1})
			rng.Read(big)
			at := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
			v1 := ContactVersion{ImportedAt: at, ImportID: "aaaaaaaaaaaa", Summary: "3 IPv4 networks", Sources: []ContactSource{
				{Name: "ripe.db.inetnum.gz", Kind: "rpsl", Registry: "ripe", SHA256: strings.Repeat("ab", 32), Size: 1 << 33, Objects: 4_000_000},
				{Name: "cert.csv", Kind: "cert-csv", SHA256: strings.Repeat("cd", 32), Size: 120, Objects: 2}}}
			writeAll := func(b []byte) func(io.Writer) error {
				return func(w io.Writer) error {
					for len(b) > 0 { // in odd-sized writes, across the pieces' edges
						n := min(len(b), 300_007)
						if _, err := w.Write(b[:n]); err != nil {
							return err
						}
						b = b[n:]
					}
					return nil
				}
			}
			if err := st.AddContacts(ctx, &v1, writeAll(big)); err != nil {
				t.Fatal(err)
			}
			v2 := ContactVersion{ImportedAt: at.Add(time.Hour), ImportID: "bbbbbbbbbbbb", Sources: []ContactSource{{Name: "cert.csv", Kind: "cert-csv", SHA256: "x"}}}
			if err := st.AddContacts(ctx, &v2, writeAll([]byte("small"))); err != nil {
				t.Fatal(err)
			}
			if v1.ID == 0 || v2.ID <= v1.ID || v1.Bytes != int64(len(big)) || v2.Bytes != 5 {
				t.Fatalf("ids %d %d, bytes %d %d", v1.ID, v2.ID, v1.Bytes, v2.Bytes)
			}

			// Neither a write that fails nor one whose context ends leaves a version behind.
			failed := v1
			if err := st.AddContacts(ctx, &failed, func(w io.Writer) error {
				writeAll(big)(w)
				return errors.New("the import broke")
			}); err == nil || failed.ID != v1.ID {
				t.Errorf("a failed write: %v, id %d", err, failed.ID)
			}
			cctx, cancel := context.WithCancel(ctx)
			cancelled := v1
			if err := st.AddContacts(cctx, &cancelled, func(w io.Writer) error {
				w.Write(big[:2*contactPiece])
				cancel()
				return writeAll(big)(w)
			}); err == nil {
				t.Error("a cancelled write stored a version")
			}

			list, err := st.ContactVersions(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff([]ContactVersion{v1, v2}, list); d != "" {
				t.Errorf("versions (-want +got)\n%s", d)
			}
			ro, err := OpenReadOnly(ctx, db)
			if err != nil {
				t.Fatal(err)
			}
			defer ro.Close()
			for _, tc := range []struct {
				id   int64
				want []byte
				v    ContactVersion
			}{{0, []byte("small"), v2}, {v2.ID, []byte("small"), v2}, {v1.ID, big, v1}} {
				got, v, err := read(ro, tc.id)
				if err != nil || !bytes.Equal(got, tc.want) {
					t.Errorf("version %d: %d bytes, %v; want %d bytes", tc.id, len(got), err, len(tc.want))
				}
				if d := cmp.Diff(tc.v, v); d != "" {
					t.Errorf("version %d (-want +got)\n%s", tc.id, d)
				}
			}
			if _, _, err := read(ro, v2.ID+100); !errors.Is(err, ErrNoContacts) || !strings.Contains(err.Error(), "version") {
				t.Errorf("a version not there: %v", err)
			}
			stop := errors.New("stop")
			if _, err := ro.ReadContacts(ctx, 0, func(io.Reader) error { return stop }); !errors.Is(err, stop) {
				t.Errorf("the reader's error: %v", err)
			}
		})
	}
}
