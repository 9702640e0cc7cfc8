package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConvert(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.jsonl")
	os.WriteFile(good, []byte(`{"id":1,"activityTime":1763647120,"activityType":"SYSTEM","statusCode":"APP_USER_LOGGED_IN","data":{"message":{"params":{"appUserName":"jdoe"}}}}`+"\n\n"+
		`{"activities":[{"id":2,"activityTime":1763647121,"activityType":"CONDITION","statusCode":"TRIGGERED"},{"id":3,"activityTime":1763647122,"activityType":"SYSTEM","statusCode":"APP_USER_CREATED","subject":"new@x","userId":4}]}`+"\n"), 0o644)
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte(`{"id":1,"activityTime":1763647120,"activityType":"SYSTEM","statusCode":"APP_USER_LOGGED_IN","userId":9}`+"\n{\n"+
		`{"id":5,"activityTime":1763647120,"activityType":"SYSTEM","statusCode":"NEW_THING","userId":9}`+"\n"), 0o644)

	convert := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(context.Background(), append([]string{"convert"}, args...), &out, &errOut)
		return code, out.String(), errOut.String()
	}

	code, out, errOut := convert("--format", "ninjaone", "--msp", "msp-a", good)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"ninjaone.record_id":"1"`) || !strings.Contains(lines[1], `"ninjaone.record_id":"3"`) ||
		!strings.HasPrefix(lines[0], `{"event_id":"ninjaone:`) {
		t.Fatalf("stdout:\n%s", out)
	}
	// The vendor's ids are one instance's: another MSP's activity 1 is
	// another event.
	if _, other, _ := convert("--format", "ninjaone", "--msp", "msp-b", good); other[:60] == out[:60] {
		t.Fatalf("msp-b's record has msp-a's event_id:\n%s", other)
	}
	if !strings.Contains(errOut, "2 events, 1 skipped, 0 failed") {
		t.Fatalf("stderr: %s", errOut)
	}
	if _, again, _ := convert("--format", "ninjaone", "--msp", "msp-a", good); again != out {
		t.Fatal("second run differs")
	}

	code, out, errOut = convert("--format", "ninjaone", "--msp", "msp-a", bad)
	if code != 1 || strings.Count(out, "\n") != 1 {
		t.Fatalf("exit %d, stdout %q", code, out)
	}
	for _, want := range []string{"line 2: not a JSON object", `line 3: record 0: id 5: unmapped vendor type: activityType/statusCode "SYSTEM/NEW_THING"`, "1 events, 0 skipped, 2 failed"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}

	// With the registry, NinjaOne organization 12 is the tenant it names.
	reg := filepath.Join(dir, "reg.yml")
	os.WriteFile(reg, []byte("msps:\n  - id: msp-northwind\n    tenants:\n      - {id: county-clinic, vendor_ids: [\"ninjaone:org:12\"]}\n"), 0o644)
	_, plain, _ := convert("--format", "ninjaone", "--msp", "msp-northwind", "../../adapt/testdata/ninjaone.jsonl")
	_, mapped, _ := convert("--format", "ninjaone", "--msp", "msp-northwind", "--registry", reg, "../../adapt/testdata/ninjaone.jsonl")
	if n := strings.Count(plain, `"tenant":"ninjaone:org:12"`); n == 0 || strings.Count(mapped, `"tenant":"county-clinic"`) != n ||
		strings.Count(mapped, `"tenant.vendor_id":"ninjaone:org:12"`) != n || strings.Contains(mapped, `"tenant":"ninjaone:org:12"`) {
		t.Errorf("--registry: %d events of org 12 without it; with it:\n%s", n, mapped)
	}
	// The MSP's own Entra tenant and its console apps: the golden
	// sign-ins to the MSP's tenant lose the tenant, and the app the
	// adapter cannot place (named "NinjaOne SSO (prod)") is NinjaOne.
	own := filepath.Join(dir, "own.yml")
	os.WriteFile(own, []byte("msps:\n  - id: msp-northwind\n    vendor_ids: [\"entra:tenant:7c1e3f5a-2b4d-4e6f-8a0c-9d1e2f3a4b5c\"]\n    entra_apps: {\"ninjaone sso (PROD)\": ninjaone}\n    tenants: [t]\n"), 0o644)
	_, plain, _ = convert("--format", "entra-signin", "--msp", "msp-northwind", "../../adapt/testdata/entra-signin.jsonl")
	_, mapped, _ = convert("--format", "entra-signin", "--msp", "msp-northwind", "--registry", own, "../../adapt/testdata/entra-signin.jsonl")
	if n := strings.Count(plain, `"tenant":"entra:tenant:7c1e3f5a-2b4d-4e6f-8a0c-9d1e2f3a4b5c"`); n == 0 ||
		strings.Count(mapped, `"tenant.msp_own":"true"`) != n || strings.Contains(mapped, `"tenant":"entra:tenant:7c1e3f5a`) {
		t.Errorf("--registry with the msp's own vendor_ids: %d sign-ins to its tenant without it; with it:\n%s", n, mapped)
	}
	if !strings.Contains(plain, `"tool":"entra-id","actor":{"user":"jdoe@northwind-msp.example","ip":"203.0.113.7"},"session":{"auth_method":"Browser"},"outcome":"success","attributes":{"app":"NinjaOne SSO (prod)"`) ||
		!strings.Contains(mapped, `"tool":"ninjaone","actor":{"user":"jdoe@northwind-msp.example","ip":"203.0.113.7"},"session":{"auth_method":"Browser"},"outcome":"success","attributes":{"app":"NinjaOne SSO (prod)"`) ||
		strings.Count(mapped, `"tool":"entra-id"`) != strings.Count(plain, `"tool":"entra-id"`)-1 {
		t.Errorf("--registry with entra_apps: the sign-in to \"NinjaOne SSO (prod)\" is not NinjaOne's, or another changed:\n%s", mapped)
	}
	if code, _, errOut := convert("--format", "ninjaone", "--msp", "m", "--registry", filepath.Join(dir, "none.yml"), good); code != 1 || !strings.Contains(errOut, "none.yml") {
		t.Errorf("missing registry: exit %d, %s", code, errOut)
	}

	if code, _, _ := convert("--format", "nope", "--msp", "m", good); code != 2 {
		t.Errorf("unknown format: exit %d", code)
	}
	if code, _, _ := convert("--format", "ninjaone", good); code != 2 {
		t.Errorf("no --msp: exit %d", code)
	}
	if code, _, errOut := convert("--format", "ninjaone", "--msp", "m", filepath.Join(dir, "missing")); code != 1 || !strings.Contains(errOut, "no such file") {
		t.Errorf("missing file: exit %d, %s", code, errOut)
	}
}
