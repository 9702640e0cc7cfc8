package sigmahq

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/sigmahq/sigmahqtest"
)

// positives names, for every rule the pack enables, the attack script
// (attackScripts) that must fire it.
var positives = map[string]string{
	"proc_creation_win_powershell_invoke_webrequest_direct_ip.yml":             "iwr download and run",
	"proc_creation_win_powershell_download_iex.yml":                            "iex iwr cradle",
	"proc_creation_win_powershell_susp_download_patterns.yml":                  "webclient iex cradle",
	"proc_creation_win_powershell_download_patterns.yml":                       "webclient iex cradle",
	"proc_creation_win_certutil_download.yml":                                  "certutil urlcache",
	"proc_creation_win_bitsadmin_download.yml":                                 "bitsadmin transfer",
	"proc_creation_win_curl_download_direct_ip_susp_extensions.yml":            "curl download",
	"proc_creation_win_mshta_http.yml":                                         "mshta url",
	"proc_creation_win_regsvr32_http_ip_pattern.yml":                           "regsvr32 scriptlet",
	"proc_creation_win_rundll32_mshtml_runhtmlapplication.yml":                 "rundll32 url",
	"proc_creation_win_powershell_base64_encoded_cmd.yml":                      "encoded command",
	"proc_creation_win_powershell_base64_iex.yml":                              "encoded command",
	"proc_creation_win_certutil_decode.yml":                                    "certutil decode",
	"proc_creation_win_susp_copy_system_dir_lolbin.yml":                        "renamed certutil",
	"proc_creation_win_cmd_ping_del_combined_execution.yml":                    "self-deleting dropper",
	"posh_ps_susp_invocation_specific.yml":                                     "webclient iex cradle",
	"proc_creation_win_powershell_defender_disable_feature.yml":                "defender realtime off",
	"proc_creation_win_powershell_disable_defender_av_security_monitoring.yml": "defender service stop",
	"posh_ps_tamper_windows_defender_set_mp.yml":                               "defender realtime off",
	"proc_creation_win_susp_eventlog_clear.yml":                                "event logs cleared",
	"proc_creation_win_rundll32_process_dump_via_comsvcs.yml":                  "lsass minidump",
	"proc_creation_win_reg_dumping_sensitive_hives.yml":                        "sam hive save",
	"proc_creation_win_ntdsutil_susp_usage.yml":                                "ntds ifm",
	"proc_creation_win_susp_shadow_copies_deletion.yml":                        "shadow copies deleted",
	"proc_creation_win_bcdedit_boot_conf_tamper.yml":                           "shadow copies deleted",
	"proc_creation_win_schtasks_susp_pattern.yml":                              "hidden scheduled task",
	"proc_creation_win_susp_add_user_local_admin_group.yml":                    "rogue local admin",
	"proc_creation_win_remote_access_tools_anydesk_silent_install.yml":         "second rmm quietly",
	"proc_creation_win_whoami_all_execution.yml":                               "recon",
	"proc_creation_win_rar_compression_with_password.yml":                      "rar staging",
}

// packSet loads the pack's list from the shared checkout: every listed
// rule must load (none skipped).
func packSet(t *testing.T) (*engine.RuleSet, []Entry) {
	t.Helper()
	// The pack's list as the binary embeds it (rules/load.go embeds
	// rules/msp whole); read from the tree, as rules imports this package.
	data, err := os.ReadFile(filepath.Join("..", "rules", "msp", ListFile))
	if err != nil {
		t.Fatal(err)
	}
	entries, errs := ParseList(data, "rules/msp/"+ListFile)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	loaded, skipped, err := Load(sigmahqtest.Corpus(t), entries, engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range skipped {
		t.Errorf("pack list: %v", s)
	}
	set, cerrs := engine.Compile(loaded, nil, engine.Config{Views: Views()})
	if len(cerrs) > 0 {
		t.Fatal(cerrs)
	}
	return set, entries
}

// pushed is a script.run as a tool sends it, decoded by the contract as
// ingest does.
func pushed(t *testing.T, i int, s script) *contract.Event {
	t.Helper()
	tools := []string{"ninjaone", "kaseya-vsa", "screenconnect", "datto-rmm", "n-able", "atera"}
	doc := map[string]any{
		"event_type": "script.run", "time": "2026-11-22T03:10:00-05:00", "msp": "msp-northwind",
		"tenant": "county-elections", "tool": tools[i%len(tools)],
		"actor":  map[string]any{"user": "jdoe@northwind-msp.example", "ip": "198.51.100.23"},
		"target": map[string]any{"host": fmt.Sprintf("WS-%03d", i), "host_count": 1, "os": "Windows 10 Pro 22H2"},
		"script": map[string]any{"name": s.name, "interpreter": s.interpreter, "command": s.command,
			"sha256": strings.Repeat("ab", 32)},
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	dec := contract.Decoder{Now: func() time.Time { return time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC) }}
	ev, err := dec.Decode(raw)
	if err != nil {
		t.Fatalf("%s: %v", s.name, err)
	}
	return &ev
}

func TestPackListLoadsFromCorpus(t *testing.T) {
	set, entries := packSet(t)
	if set.Len() != len(entries) || len(entries) < 25 {
		t.Fatalf("%d of %d listed rules loaded", set.Len(), len(entries))
	}
	for _, e := range entries {
		if e.ID == "" {
			t.Errorf("%s: %s listed without its id", e.Pos, e.Path)
		}
		if _, ok := positives[path.Base(e.Path)]; !ok {
			t.Errorf("%s: %s has no positive test in positives", e.Pos, e.Path)
		}
	}
}

// TestEnabledRulesFireOnAttacks: each enabled rule fires on its attack
// script, a contract event as a tool sends it.
func TestEnabledRulesFireOnAttacks(t *testing.T) {
	set, _ := packSet(t)
	byName := map[string]int{}
	for i, s := range attackScripts {
		byName[s.name] = i
	}
	for _, r := range set.Rules() {
		file := path.Base(r.Path)
		t.Run(file, func(t *testing.T) {
			name, ok := positives[file]
			if !ok {
				t.Fatalf("no positive test for %s", r.Path)
			}
			i, ok := byName[name]
			if !ok {
				t.Fatalf("positive %q is not an attack script", name)
			}
			got := set.Match(pushed(t, i, attackScripts[i]), nil)
			if !slices.Contains(got, r) {
				t.Errorf("%s (%s) does not fire on %q: %s", r.Title, r.Level, name, attackScripts[i].command)
			}
		})
	}
}

// uncovered are the attack scripts no enabled SigmaHQ rule catches: the
// SigmaHQ rules for them also fire on routine MSP work (any web request
// from PowerShell, which a vendor agent install is too; any
// Start-BitsTransfer; any Defender exclusion, including a line-of-business
// folder), so the pack's own rules cover them (docs/sigmahq.md).
var uncovered = []string{"bypass iwr from a domain", "start-bitstransfer", "defender exclusion drive"}

// TestEnabledRulesQuietOnRoutineScripts: no enabled rule fires on the
// routine MSP scripts, and every attack script but the uncovered ones is
// caught by at least one.
func TestEnabledRulesQuietOnRoutineScripts(t *testing.T) {
	set, _ := packSet(t)
	for i, s := range benignScripts {
		if got := set.Match(pushed(t, i, s), nil); len(got) > 0 {
			t.Errorf("routine %q fires %v", s.name, got)
		}
	}
	for i, s := range attackScripts {
		got := set.Match(pushed(t, i, s), nil)
		if caught, want := len(got) > 0, !slices.Contains(uncovered, s.name); caught != want {
			t.Errorf("attack %q: caught %v, want %v (%v)", s.name, caught, want, got)
		}
	}
}

// TestLoadSkipsWhatCannotBeUsed: a listed rule that is missing, holds
// another id, names an unmapped field or has another logsource is
// reported at the list's line and skipped; the others load.
func TestLoadSkipsWhatCannotBeUsed(t *testing.T) {
	corpus := sigmahqtest.Corpus(t)
	list := strings.Join([]string{
		"# comment",
		"windows/process_creation/proc_creation_win_certutil_decode.yml cc9cbe82-7bc0-4ef5-bc23-bbfb83947be7",
		"windows/process_creation/proc_creation_win_no_such_rule.yml",
		"windows/process_creation/proc_creation_win_mshta_http.yml 00000000-0000-0000-0000-000000000000",
		"windows/process_creation/proc_creation_win_whoami_all_execution.yml  # no id: accepted",
		"windows/process_creation/proc_creation_win_chcp_codepage_lookup.yml",
		"windows/registry/registry_set/registry_set_disable_defender_firewall.yml",
	}, "\n")
	entries, errs := ParseList([]byte(list), "x/sigmahq.txt")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	loaded, skipped, err := Load(corpus, entries, engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range loaded {
		ids = append(ids, r.ID)
	}
	if want := []string{"cc9cbe82-7bc0-4ef5-bc23-bbfb83947be7", "c248c896-e412-4279-8c15-1c558067b6fa"}; !slices.Equal(ids, want) {
		t.Errorf("loaded %v, want %v", ids, want)
	}
	wants := []struct{ line, text string }{
		{"x/sigmahq.txt:3:1", "not in the checkout"},
		{"x/sigmahq.txt:4:1", "now holds rule b98d0db6"},
		{"x/sigmahq.txt:6:1", "field ParentCommandLine has no counterpart"},
		{"x/sigmahq.txt:7:1", "is not one a pushed script maps to"},
	}
	if len(skipped) != len(wants) {
		t.Fatalf("skipped %d, want %d: %v", len(skipped), len(wants), skipped)
	}
	for i, w := range wants {
		if msg := skipped[i].Error(); !strings.HasPrefix(msg, w.line) || !strings.Contains(msg, w.text) {
			t.Errorf("skip %d: %q, want %s ... %s", i, msg, w.line, w.text)
		}
	}
}

func TestParseListErrors(t *testing.T) {
	tests := []struct{ list, want string }{
		{"a.yml b c", "l.txt:1:1: want \"PATH [ID]\", got 3 words"},
		{"\n/etc/passwd.yml", "l.txt:2:1: \"/etc/passwd.yml\" is not a .yml path inside the SigmaHQ rules folder"},
		{"../x.yml", "is not a .yml path"},
		{"windows/x.txt", "is not a .yml path"},
	}
	for _, tc := range tests {
		_, errs := ParseList([]byte(tc.list), "l.txt")
		if len(errs) != 1 || !strings.Contains(errs[0].Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.list, errs, tc.want)
		}
	}
}

func TestMissingCorpus(t *testing.T) {
	_, _, err := Load(t.TempDir(), []Entry{{Path: "windows/x.yml"}}, engine.Config{})
	if !errors.Is(err, ErrNoCorpus) || !strings.Contains(err.Error(), "github.com/SigmaHQ/sigma") {
		t.Fatalf("err = %v", err)
	}
}
