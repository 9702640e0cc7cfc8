package simulate

import "strconv"

// Event kinds; the remote-session family comes first.
const (
	kAuthLogin uint8 = iota
	kAuthFailure
	kAccountCreated
	kAccountChanged
	kSessionStart
	kSessionEnd
	kCredentialUse
	kSoftwarePush
	kScriptRun
	kAgentUpdate
	kSoftwareInstall
)

var kindNames = [...]string{
	kAuthLogin:       `{"event_type":"auth.login","time":"`,
	kAuthFailure:     `{"event_type":"auth.failure","time":"`,
	kAccountCreated:  `{"event_type":"account.created","time":"`,
	kAccountChanged:  `{"event_type":"account.changed","time":"`,
	kSessionStart:    `{"event_type":"session.start","time":"`,
	kSessionEnd:      `{"event_type":"session.end","time":"`,
	kCredentialUse:   `{"event_type":"credential.use","time":"`,
	kSoftwarePush:    `{"event_type":"software.push","time":"`,
	kScriptRun:       `{"event_type":"script.run","time":"`,
	kAgentUpdate:     `{"event_type":"agent.update","time":"`,
	kSoftwareInstall: `{"event_type":"software.install","time":"`,
}

// event is a compact description of one message; it is rendered to JSON
// only when it is emitted. Indexes are into the generator's world; -1 means
// absent.
type event struct {
	at     int64 // ms since the epoch
	seq    uint64
	sess   uint64 // session id; 0 = none
	kind   uint8
	scen   uint8 // 0 = benign, else scenario index + 1
	tool   uint8
	loc    uint8 // which of the technician's locations
	mfa    int8  // -1 absent, 0 false, 1 true
	fail   bool
	msp    int16
	tenant int16
	host   int16
	actor  int16
	pkg    int16
	script int16
	cred   int16 // into tenant.creds (or tenant.privCred when priv); -1 = absent
	priv   bool
	count  int32 // target.host_count; 0 = absent
	dur    int32 // session.duration_s; -1 = absent
	ticket uint32
	x      *extra
}

// extra carries what the compact fields cannot: mostly attack details.
// Every non-empty fragment replaces the world-derived one.
type extra struct {
	actor      string // inner JSON of "actor" (without mfa)
	target     string // inner JSON of "target"
	pkg        string // inner JSON of "package"
	script     string // inner JSON of "script"
	cred       string // inner JSON of "credential"
	url        string
	authMethod string
	reason     string
	attrs      string // inner JSON of "attributes"
}

func newEvent(kind uint8, msp int16, at int64) event {
	return event{at: at, kind: kind, msp: msp, tenant: -1, host: -1, actor: -1, pkg: -1, script: -1, cred: -1, mfa: -1, dur: -1}
}

// queue is a binary min-heap of events by (at, seq), typed to avoid the
// interface boxing of container/heap.
type queue struct{ h []event }

func (q *queue) len() int     { return len(q.h) }
func (q *queue) minAt() int64 { return q.h[0].at }
func less(a, b *event) bool   { return a.at < b.at || a.at == b.at && a.seq < b.seq }
func (q *queue) push(e event) {
	q.h = append(q.h, e)
	i := len(q.h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !less(&q.h[i], &q.h[p]) {
			break
		}
		q.h[i], q.h[p] = q.h[p], q.h[i]
		i = p
	}
}

func (q *queue) pop() event {
	top := q.h[0]
	n := len(q.h) - 1
	q.h[0] = q.h[n]
	q.h = q.h[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		c := l
		if r := l + 1; r < n && less(&q.h[r], &q.h[l]) {
			c = r
		}
		if !less(&q.h[c], &q.h[i]) {
			break
		}
		q.h[i], q.h[c] = q.h[c], q.h[i]
		i = c
	}
	return top
}

// appendEvent renders ev as one JSON object.
func (g *Generator) appendEvent(b []byte, ev *event) []byte {
	m := &g.w.msps[ev.msp]
	x := ev.x
	if x == nil {
		x = &noExtra
	}
	if m.spec.producerIDs && m.spec.rmm == ev.tool {
		// This tool's export carries its own activity ID.
		m.idSeq++
		b = append(b, `{"event_id":"`...)
		b = append(b, m.spec.name[:3]...)
		b = append(b, '-')
		b = appendHex(b, uint64(ev.msp)<<48|m.idSeq, 16)
		b = append(b, `",`...)
		b = append(b, kindNames[ev.kind][1:]...)
	} else {
		b = append(b, kindNames[ev.kind]...)
	}
	b = appendTime(b, ev.at, m.outTZ, m.outZone)
	b = append(b, `",`...)
	b = append(b, m.frag...)
	if ev.tenant >= 0 {
		b = append(b, m.tenants[ev.tenant].frag...)
	}
	b = append(b, `,"tool":"`...)
	b = append(b, toolSlugs[ev.tool]...)
	b = append(b, '"')

	if x.actor != "" || ev.actor >= 0 {
		b = append(b, `,"actor":{`...)
		if x.actor != "" {
			b = append(b, x.actor...)
		} else {
			b = append(b, m.techs[ev.actor].locs[ev.loc]...)
		}
		switch ev.mfa {
		case 0:
			b = append(b, `,"mfa":false`...)
		case 1:
			b = append(b, `,"mfa":true`...)
		}
		b = append(b, '}')
	}
	if x.target != "" {
		b = append(b, `,"target":{`...)
		b = append(b, x.target...)
		b = append(b, '}')
	} else if ev.host >= 0 || ev.count > 0 {
		b = append(b, `,"target":{`...)
		if ev.host >= 0 {
			b = append(b, m.tenants[ev.tenant].hosts[ev.host].frag...)
			if ev.count > 0 {
				b = append(b, ',')
			}
		}
		if ev.count > 0 {
			b = append(b, `"host_count":`...)
			b = strconv.AppendInt(b, int64(ev.count), 10)
		}
		b = append(b, '}')
	}
	if ev.sess != 0 || ev.dur >= 0 || x.authMethod != "" {
		b = append(b, `,"session":{`...)
		sep := false
		if ev.sess != 0 {
			b = append(b, `"id":"`...)
			b = appendSessionID(b, ev.tool, ev.sess)
			b = append(b, '"')
			sep = true
		}
		if ev.dur >= 0 {
			if sep {
				b = append(b, ',')
			}
			b = append(b, `"duration_s":`...)
			b = strconv.AppendInt(b, int64(ev.dur), 10)
			sep = true
		}
		if x.authMethod != "" {
			if sep {
				b = append(b, ',')
			}
			b = append(b, `"auth_method":"`...)
			b = append(b, x.authMethod...)
			b = append(b, '"')
		}
		b = append(b, '}')
	}
	if x.cred != "" || ev.cred != -1 {
		b = append(b, `,"credential":{`...)
		switch {
		case x.cred != "":
			b = append(b, x.cred...)
		case ev.priv:
			b = append(b, m.tenants[ev.tenant].privCred[ev.cred].frag...)
		default:
			b = append(b, m.tenants[ev.tenant].creds[ev.cred].frag...)
		}
		b = append(b, '}')
	}
	if x.pkg != "" || ev.pkg >= 0 {
		b = append(b, `,"package":{`...)
		if x.pkg != "" {
			b = append(b, x.pkg...)
		} else {
			b = append(b, g.w.pkgs[ev.pkg].frag...)
		}
		b = append(b, '}')
	}
	if x.script != "" || ev.script >= 0 {
		b = append(b, `,"script":{`...)
		if x.script != "" {
			b = append(b, x.script...)
		} else {
			b = append(b, g.w.scripts[ev.script].frag...)
		}
		b = append(b, '}')
	}
	if x.url != "" {
		b = append(b, `,"source":{"url":`...)
		b = jsonStr(b, x.url)
		b = append(b, '}')
	} else if ev.kind == kAgentUpdate {
		b = append(b, `,"source":{"url":"`...)
		if ev.pkg >= 0 && g.w.pkgs[ev.pkg].url != "" {
			b = append(b, g.agentURL(g.w.pkgs[ev.pkg].url)...)
		} else {
			b = append(b, g.agentURL(tools[ev.tool].url)...)
		}
		b = append(b, `"}`...)
	}
	if ev.fail {
		b = append(b, `,"outcome":"failure"`...)
	} else {
		b = append(b, `,"outcome":"success"`...)
	}
	if x.reason != "" {
		b = append(b, `,"reason":`...)
		b = jsonStr(b, x.reason)
	} else if ev.fail {
		b = append(b, `,"reason":"`...)
		b = append(b, failReason(ev.kind)...)
		b = append(b, '"')
	}
	if ev.ticket != 0 && g.cfg.Conventions.Tickets != "none" {
		b = append(b, `,"change":{"ticket":"`...)
		b = g.appendTicket(b, m, ev.ticket)
		b = append(b, `"}`...)
	}
	if x.attrs != "" {
		b = append(b, `,"attributes":{`...)
		b = append(b, x.attrs...)
		b = append(b, '}')
	}
	return append(b, '}')
}

var noExtra extra

func failReason(kind uint8) string {
	switch kind {
	case kAuthFailure:
		return "invalid password"
	case kSoftwareInstall:
		return "installer exit code 1603"
	case kAgentUpdate:
		return "download timed out"
	case kScriptRun:
		return "script exited with code 1"
	}
	return "failed"
}

const hexDigits = "0123456789abcdef"

func appendHex(b []byte, v uint64, width int) []byte {
	for i := width - 1; i >= 0; i-- {
		b = append(b, hexDigits[(v>>(uint(i)*4))&15])
	}
	return b
}

// appendSessionID writes a session id in the style of the tool: GUIDs for
// ScreenConnect, numeric ids for TeamViewer and AnyDesk, hex elsewhere.
func appendSessionID(b []byte, tool uint8, id uint64) []byte {
	switch tool {
	case toolScreenConnect:
		b = appendHex(b, id>>32, 8)
		b = append(b, '-')
		b = appendHex(b, id>>16, 4)
		b = append(b, '-', '4')
		b = appendHex(b, id, 3)
		b = append(b, '-', '8')
		b = appendHex(b, id>>40, 3)
		b = append(b, '-')
		b = appendHex(b, id*0x9e3779b97f4a7c15, 12)
	case toolTeamViewer, toolAnyDesk:
		b = strconv.AppendUint(b, 1_000_000_000+id%9_000_000_000, 10)
	default:
		b = append(b, "ses_"...)
		b = appendHex(b, id, 16)
	}
	return b
}

// appendTime writes ms as RFC 3339 with milliseconds in the given zone.
func appendTime(b []byte, ms, tz int64, zone string) []byte {
	secs := floorDiv(ms, 1000)
	milli := ms - secs*1000
	secs += tz
	days := floorDiv(secs, 86400)
	rem := secs - days*86400
	y, mo, d := civil(days)
	b = append4(b, y)
	b = append(b, '-')
	b = append2(b, mo)
	b = append(b, '-')
	b = append2(b, d)
	b = append(b, 'T')
	b = append2(b, int(rem/3600))
	b = append(b, ':')
	b = append2(b, int(rem/60%60))
	b = append(b, ':')
	b = append2(b, int(rem%60))
	b = append(b, '.', byte('0'+milli/100), byte('0'+milli/10%10), byte('0'+milli%10))
	return append(b, zone...)
}

// civil converts days since 1970-01-01 to a proleptic Gregorian date
// (Howard Hinnant's algorithm).
func civil(z int64) (y, m, d int) {
	z += 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	if mp < 10 {
		m = int(mp + 3)
	} else {
		m = int(mp - 9)
	}
	y = int(yoe + era*400)
	if m <= 2 {
		y++
	}
	return
}

func append2(b []byte, v int) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }
func append4(b []byte, v int) []byte {
	return append(b, byte('0'+v/1000), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10))
}
