package procs

import (
	"runtime"
	"testing"
)

func TestConfigureAddsOneProcessor(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(before)
	got := Configure(func(string) string { return "" })
	if got != before+1 || runtime.GOMAXPROCS(0) != before+1 {
		t.Fatalf("Configure = %d, GOMAXPROCS %d; want %d", got, runtime.GOMAXPROCS(0), before+1)
	}
}

func TestConfigureLeavesTheEnvironmentsChoice(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(before)
	env := func(k string) string {
		if k == "GOMAXPROCS" {
			return "3"
		}
		return ""
	}
	if got := Configure(env); got != before || runtime.GOMAXPROCS(0) != before {
		t.Fatalf("Configure = %d, GOMAXPROCS %d; want %d unchanged", got, runtime.GOMAXPROCS(0), before)
	}
}
