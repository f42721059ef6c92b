package contacts

import (
	"fmt"
	"slices"
	"strings"

	"github.com/clawcensus/clawcensus/internal/textsafe"
)

// TLPs are the Traffic Light Protocol 2.0 labels (FIRST), the least restrictive first, as
// ParseTLP spells them.
var TLPs = []string{"CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"}

// ParseTLP reads a TLP label as a CERT's table may write it: in any case, with or without
// "TLP:", WHITE (TLP 1.0's name for CLEAR) as CLEAR; "" stays "" (the sender's default).
func ParseTLP(s string) (string, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.TrimSpace(strings.TrimPrefix(t, "TLP:"))
	switch {
	case t == "WHITE":
		return "CLEAR", nil
	case t == "" && strings.TrimSpace(s) == "":
		return "", nil
	case slices.Contains(TLPs, t):
		return t, nil
	}
	return "", fmt.Errorf("tlp %q: want one of %s (TLP 2.0; TLP: and any case allowed)", textsafe.Clean(s, 40), strings.Join(TLPs, ", "))
}
