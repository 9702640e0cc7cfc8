package adapt

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tripline/tripline/contract"
)

// OCSFVersion is the OCSF schema version the ocsf format reads: records
// whose metadata.version is not 1.3.x are errors, not guesses.
const OCSFVersion = "1.3"

// ocsf reads OCSF events (schema 1.3) of the classes the contract can
// describe; the class is kept in attributes (ocsf.class_uid,
// ocsf.activity_id).
type ocsf struct{}

func (ocsf) Name() string { return "ocsf" }

func (a ocsf) Convert(raw []byte, msp string, emit func(Out) error) error {
	return run(a.Name(), raw, msp, ocsfPageKeys, a.record, emit)
}

var ocsfClasses = map[string]string{
	"3002": "Authentication", "3001": "Account Change", "3005": "User Access Management",
	"1007": "Process Activity", "1009": "Script Activity", "6002": "Application Lifecycle",
	"6003": "API Activity",
}

// ocsfTypes maps class_uid/activity_id to an event type; other activities
// of a listed class are skipped.
var ocsfTypes = map[string]string{
	"3002/1": contract.TypeAuthLogin, // Logon (status decides login or failure)
	"3001/1": contract.TypeAccountCreated,
	"3001/2": contract.TypeAccountChanged, "3001/3": contract.TypeAccountChanged, // Enable, Password Change
	"3001/4": contract.TypeAccountChanged, "3001/5": contract.TypeAccountChanged, // Password Reset, Disable
	"3001/6": contract.TypeAccountChanged, "3001/7": contract.TypeAccountChanged, // Delete, Attach Policy
	"3001/8": contract.TypeAccountChanged, "3001/9": contract.TypeAccountChanged, // Detach Policy, Lock
	"3001/10": contract.TypeAccountChanged, "3001/11": contract.TypeAccountChanged, // MFA Factor Enable/Disable
	"3005/1": contract.TypeAccountChanged, "3005/2": contract.TypeAccountChanged, // Assign/Revoke Privileges
	"1007/1": contract.TypeScriptRun,                                               // Launch
	"1009/1": contract.TypeScriptRun,                                               // Execute
	"6002/1": contract.TypeSoftwareInstall, "6002/8": contract.TypeSoftwareInstall, // Install, Update
	"6003/1": contract.TypeAccountCreated, "6003/3": contract.TypeAccountChanged, "6003/4": contract.TypeAccountChanged, // on account resources
}

var ocsfAccountResources = map[string]bool{"user": true, "account": true, "role": true, "group": true, "policy": true, "service principal": true, "api key": true}

func (ocsf) record(r *rec, msp string) ([]*contract.Event, string, error) {
	meta := r.obj("metadata")
	r.id = meta.str("uid")
	ver := meta.str("version")
	if ver != OCSFVersion && !strings.HasPrefix(ver, OCSFVersion+".") {
		return nil, "", errorf("metadata.version %q: only OCSF %s.x is read", short(ver), OCSFVersion)
	}
	class, act := r.str("class_uid"), r.str("activity_id")
	name, ok := ocsfClasses[class]
	if !ok {
		return nil, "", unmapped("class_uid", class)
	}
	typ := ocsfTypes[class+"/"+act]
	if typ == "" {
		return nil, name + " activity " + act + " (only the activities in docs/sources.md)", nil
	}
	id := ""
	if r.id != "" {
		id = r.join("ocsf:", r.id)
	}
	prod := meta.obj("product")
	tool := r.slug(prod.str("name"))
	if tool == "" {
		tool = "ocsf"
	}
	ev := r.newEvent(id, typ, msp, tool)
	at := r.attrsOf(ev)
	at.put("ocsf.class_uid", class)
	at.put("ocsf.class_name", name)
	at.put("ocsf.activity_id", act)
	at.put("ocsf.version", ver)
	at.set("ocsf.vendor", prod.str("vendor_name"))
	t, err := parseEpoch(r.str("time"), 1000)
	if err != nil {
		return nil, "", errorf("time: %v", err)
	}
	ev.Time = t

	dev := r.obj("device")
	org := dev.obj("org")
	cloud := r.obj("cloud")
	acct := cloud.obj("account")
	for _, v := range []string{meta.str("tenant_uid"), org.str("uid"), acct.str("uid")} {
		if v != "" && ev.Tenant == "" {
			ev.Tenant = r.tenantID("ocsf", "tenant", v)
		} else if v != "" {
			at.put("ocsf.other_tenant", v)
		}
	}
	at.set("org.name", org.str("name"))
	ev.Target.Host = dev.str("hostname")
	devOS := dev.obj("os")
	ev.Target.OS = devOS.str("name")
	// The device's groups are what the contract calls the host's tags
	// (an asset group such as "election" or "critical").
	for _, g := range dev.objs("groups") {
		if n := g.str("name"); n != "" {
			ev.Target.Tags = append(ev.Target.Tags, n)
		}
	}

	actor := r.obj("actor")
	au := actor.obj("user")
	ev.Actor.User = au.str("name")
	if ev.Actor.User == "" {
		ev.Actor.User = au.str("email_addr")
	}
	ev.Session.ID = actor.obj("session").str("uid")
	user := r.obj("user")
	userName := user.str("name")
	if userName == "" {
		userName = user.str("email_addr")
	}
	src := r.obj("src_endpoint")
	ev.Actor.IP = ip(src.str("ip"), at, "src_endpoint.ip")
	ev.Actor.Country = country(src.obj("location").str("country"), at, "src_endpoint.location.country")
	if asn := src.obj("autonomous_system").integer("number"); asn != nil && *asn >= 0 {
		ev.Actor.ASN = asn
	}

	switch r.str("status_id") {
	case "1":
		ev.Outcome = "success"
	case "2":
		ev.Outcome = "failure"
	}
	ev.Reason = r.str("status_detail")

	switch class {
	case "3002":
		// The user authenticating is "user"; actor.user is who acted.
		if userName != "" {
			ev.Actor.User = userName
		}
		ev.Actor.MFA = r.boolean("is_mfa")
		ev.Session.AuthMethod = r.str("auth_protocol")
		if ev.Outcome == "failure" {
			ev.EventType = contract.TypeAuthFailure
		}
		dst := r.obj("dst_endpoint")
		at.set("dst_endpoint.hostname", dst.str("hostname"))
	case "3001", "3005":
		at.set("account", userName)
		at.set("change", r.str("activity_name"))
		if privs := r.strs("privileges"); len(privs) > 0 {
			at.put("privileges", strings.Join(privs, ","))
		}
	case "1007":
		p := r.obj("process")
		ev.Script.Command = p.str("cmd_line")
		ev.Script.Name = p.str("name")
		f := p.obj("file")
		ev.Script.SHA256 = ocsfSHA256(f.objs("hashes"), at, "process.file.hashes")
		ev.Target.HostCount = r.int64p(1)
	case "1009":
		s := r.obj("script")
		ev.Script.Name = s.str("name")
		if v := s.raw("script_content"); len(v) > 0 && v[0] == '{' {
			ev.Script.Command = s.obj("script_content").str("value")
		} else {
			ev.Script.Command = s.str("script_content")
		}
		ev.Script.Interpreter = strings.ToLower(s.str("type"))
		ev.Script.SHA256 = ocsfSHA256(s.objs("hashes"), at, "script.hashes")
		ev.Target.HostCount = r.int64p(1)
	case "6002":
		app := r.obj("app")
		ev.Package.Name = app.str("name")
		ev.Package.Version = app.str("version")
		at.set("app.vendor", app.str("vendor_name"))
		ev.Package.SHA256 = ocsfSHA256(app.objs("hashes"), at, "app.hashes")
	case "6003":
		api := r.obj("api")
		op := api.str("operation")
		at.put("api.operation", op)
		acc := ""
		for _, res := range r.objs("resources") {
			if ocsfAccountResources[strings.ToLower(res.peek("type"))] && acc == "" {
				acc = res.peek("name")
				if acc == "" {
					acc = res.peek("uid")
				}
			}
		}
		if acc == "" {
			return nil, "API activity on no account, role or policy resource", nil
		}
		at.put("account", acc)
	}
	return r.events(ev), "", nil
}

// ocsfSHA256 picks the SHA-256 (algorithm_id 3) of an OCSF fingerprint list.
func ocsfSHA256(hs []*rec, at *attrs, key string) string {
	for i, h := range hs {
		if h.peek("algorithm_id") == "3" {
			h.str("algorithm_id")
			return sha256Hex(h.str("value"), at, h.join(key, ".", strconv.Itoa(i), ".value"))
		}
	}
	return ""
}

// slug is the package's slug, written into the arena's text when s is
// ASCII (slug's Unicode lower-casing maps a few other characters to
// ASCII letters: the Kelvin sign to k).
func (r *rec) slug(s string) string {
	s = strings.TrimSpace(s)
	if !isASCII(s) {
		return slug(s)
	}
	b, n := r.arena.begin()
	dash := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' {
			b = append(b, c)
			dash = false
		} else if !dash && len(b) > n {
			b = append(b, '-')
			dash = true
		}
	}
	out := strings.TrimRight(r.arena.end(b, n), "-")
	if len(out) > 64 {
		out = out[:64]
	}
	return out
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// slug lower-cases a product name into a tool slug: runs of characters
// outside a-z 0-9 . _ - become one '-'.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(strings.TrimSpace(s)) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' {
			b.WriteRune(c)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	out := strings.TrimRight(b.String(), "-")
	if len(out) > 64 {
		out = out[:64]
	}
	return out
}
