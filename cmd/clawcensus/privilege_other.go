//go:build !linux

package main

func dropPrivileges(string, []string) (string, error) { return "unchanged (not Linux)", nil }

func reachable(string, []string, []string) (string, error) { return "", nil }
