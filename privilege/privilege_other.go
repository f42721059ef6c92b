//go:build !linux

package privilege

// Drop changes nothing outside Linux.
func Drop(string, []string) (string, error) { return "unchanged (not Linux)", nil }

func reachable(string, []string, []string) (string, error) { return "", nil }
