package engine

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tripline/tripline/fields"
)

// mspRules are ~20 MSP supply-chain style rules over contract-like fields.
var mspRules = []string{
	"sel: {event.type: software.push, package.signed: false}\ncondition: sel",
	"sel: {event.type: software.push, target.host_count|gte: 50}\nfilter: {change.ticket|exists: true}\ncondition: sel and not filter",
	"sel: {event.type: script.run, script.command|contains|all: ['Invoke-WebRequest', '-OutFile']}\ncondition: sel",
	"sel: {event.type: script.run, script.command|windash|contains: [' -enc ', ' -EncodedCommand ']}\ncondition: sel",
	"sel: {event.type: script.run, script.command|base64offset|contains: 'http://'}\ncondition: sel",
	"sel: {event.type: script.run, script.interpreter: [powershell, pwsh, cmd], script.command|contains: ['vssadmin delete', 'wbadmin delete', 'bcdedit /set']}\ncondition: sel",
	"sel: {event.type: auth.login, actor.mfa: false, actor.role: admin}\ncondition: sel",
	"sel: {event.type: auth.login, actor.ip|cidr: ['10.0.0.0/8', '192.168.0.0/16', '172.16.0.0/12']}\ncondition: not sel and sel2\nsel2: {event.type: auth.login, actor.role: admin}",
	"sel: {event.type: auth.login, actor.country: [KP, IR, RU]}\ncondition: sel",
	"sel: {event.type: auth.failure}\ncondition: sel",
	"sel: {event.type: credential.use, credential.privileged: true, session.auth_method: [password, legacy]}\ncondition: sel",
	"sel: {event.type: account.created, actor.user|endswith: ['$', '_svc']}\ncondition: sel",
	"sel: {event.type: agent.update, source.url|startswith: 'http://'}\ncondition: sel",
	"sel: {event.type: agent.update, package.signer|contains: ['unknown', 'self-signed']}\ncondition: sel",
	"sel: {event.type: software.install, package.name|re: '^(anydesk|teamviewer|screenconnect|atera|splashtop)'}\ncondition: sel",
	"sel: {event.type: session.start, session.duration_s|gt: 28800}\ncondition: sel",
	"sel: {event.type: script.run, script.name|endswith: ['.ps1', '.bat', '.vbs'], target.tags: [domain-controller, backup]}\ncondition: sel",
	"sel: {event.type: software.push, package.name|contains: ['mimikatz', 'rclone', 'procdump', 'psexec']}\ncondition: sel",
	"sel: {event.type: account.changed, object.name|contains: ['Domain Admins', 'Enterprise Admins']}\ncondition: sel",
	"sel: {event.type: script.run, script.command|contains: ['Set-MpPreference', 'DisableRealtimeMonitoring']}\nfilter: {actor.user|startswith: 'svc_patch'}\ncondition: sel and not filter",
}

func mspEvents() []*flatEvent {
	mk := func(kv ...any) *flatEvent {
		e := &flatEvent{vals: map[string]fields.Value{}}
		for i := 0; i+1 < len(kv); i += 2 {
			switch v := kv[i+1].(type) {
			case string:
				e.vals[kv[i].(string)] = fields.Str(v)
			case float64:
				e.vals[kv[i].(string)] = fields.Num(v)
			case bool:
				e.vals[kv[i].(string)] = fields.Boolean(v)
			case []string:
				e.vals[kv[i].(string)] = fields.Value{Kind: fields.Strings, Strs: v}
			}
		}
		return e
	}
	return []*flatEvent{
		mk("event.type", "auth.login", "actor.user", "alice@msp.example", "actor.ip", "203.0.113.7", "actor.mfa", true, "actor.role", "technician", "actor.country", "NL", "session.id", "s-123"),
		mk("event.type", "script.run", "actor.user", "svc_patch", "script.interpreter", "powershell", "script.name", "patch-status.ps1", "script.command", "powershell.exe -NoProfile -ExecutionPolicy Bypass -File C:\\ProgramData\\Agent\\patch-status.ps1", "target.host", "WS-0142", "target.tags", []string{"workstation", "finance"}),
		mk("event.type", "software.push", "actor.user", "bob@msp.example", "package.name", "7zip", "package.version", "23.01", "package.signed", true, "package.signer", "Igor Pavlov", "target.host_count", 12.0, "change.ticket", "CHG-991"),
		mk("event.type", "session.start", "actor.user", "carol@msp.example", "session.auth_method", "sso", "session.duration_s", 1800.0, "target.host", "SRV-DC01", "target.os", "windows"),
		mk("event.type", "script.run", "actor.user", "mallory@msp.example", "script.interpreter", "powershell", "script.name", "x.ps1", "script.command", "powershell -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA", "target.tags", []string{"domain-controller"}),
	}
}

func loadMSP(tb testing.TB) *RuleSet {
	var docs []string
	for i, r := range mspRules {
		docs = append(docs, ruleDoc(fmt.Sprintf("msp-%02d", i), "product: msp", r))
	}
	rs := mustCompile(tb, Config{}, docs...)
	if rs.Len() != len(mspRules) {
		tb.Fatalf("compiled %d of %d", rs.Len(), len(mspRules))
	}
	return rs
}

func TestMSPRulesMatch(t *testing.T) {
	rs := loadMSP(t)
	evs := mspEvents()
	want := []string{"", "", "", "", "msp-03,msp-16"}
	for i, e := range evs {
		got := strings.Join(ids(rs.Match(e, nil)), ",")
		if got != want[i] {
			t.Errorf("event %d: got %q, want %q", i, got, want[i])
		}
	}
}

// TestMatchDoesNotAllocate guards the zero-allocation hot path for both
// entry points and both rule sets.
func TestMatchDoesNotAllocate(t *testing.T) {
	sets := map[string]*RuleSet{"msp": loadMSP(t)}
	if dir := corpusDirOrEmpty(); dir != "" {
		sets["sigmahq"] = loadProcessCreation(t)
	}
	for name, rs := range sets {
		var evs []fields.Source
		for _, e := range mspEvents() {
			evs = append(evs, e)
		}
		for _, e := range sysmonEvents() {
			evs = append(evs, e.flat)
		}
		m := rs.NewMatcher()
		dst := make([]*Rule, 0, 64)
		i := 0
		if a := testing.AllocsPerRun(200, func() {
			dst = m.Match(evs[i%len(evs)], dst[:0])
			i++
		}); a != 0 {
			t.Errorf("%s: Matcher.Match allocates %.1f times per event", name, a)
		}
		if a := testing.AllocsPerRun(200, func() {
			dst = rs.Match(evs[i%len(evs)], dst[:0])
			i++
		}); a != 0 {
			t.Errorf("%s: RuleSet.Match allocates %.1f times per event", name, a)
		}
	}
}

func BenchmarkMatchMSP(b *testing.B) {
	rs := loadMSP(b)
	evs := mspEvents()
	for i := range evs {
		evs[i].ls = fields.Logsource{Product: "msp"}
	}
	m := rs.NewMatcher()
	var dst []*Rule
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dst = m.Match(evs[i%len(evs)], dst[:0])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkMatchMSPParallel(b *testing.B) {
	rs := loadMSP(b)
	evs := mspEvents()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var dst []*Rule
		i := 0
		for pb.Next() {
			dst = rs.Match(evs[i%len(evs)], dst[:0])
			i++
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
