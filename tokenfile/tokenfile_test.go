package tokenfile

import (
	"strings"
	"testing"
)

func TestParseAndLookup(t *testing.T) {
	secret, hash, err := New("t_")
	if err != nil || !strings.HasPrefix(secret, "t_") || strings.Contains(hash, secret) {
		t.Fatalf("New: %q %q %v", secret, hash, err)
	}
	l := Layout{Usage: "name:sha256hex:x", MinFields: 1, MaxFields: 1, Duplicate: "one token, one name"}
	es, err := Parse([]byte("# c\n\nalice:"+hash+":x\nbob:"+strings.Repeat("ab", 32)+":y\n"), "f", l)
	if err != nil || len(es) != 2 || es[0].Fields[0] != "x" {
		t.Fatalf("Parse: %+v %v", es, err)
	}
	if Lookup(es, secret) != 0 || Lookup(es, secret+"x") != -1 || Lookup(es, "") != -1 {
		t.Error("Lookup admitted a wrong secret or missed the right one")
	}
	for _, bad := range []string{
		"alice:" + hash,                      // fields missing
		"alice:" + hash + ":x:y",             // too many
		"al ice:" + hash + ":x",              // name
		"alice:t_plaintext:x",                // not a hash
		"a:" + hash + ":x\na:" + hash + ":x", // name twice
		"a:" + hash + ":x\nb:" + hash + ":x", // hash twice
		"# nothing",
	} {
		_, err := Parse([]byte(bad), "f", l)
		if err == nil || (bad != "# nothing" && !strings.Contains(err.Error(), "f:")) || strings.Contains(err.Error(), "t_plaintext") {
			t.Errorf("Parse(%q) = %v", bad, err)
		}
	}
}
