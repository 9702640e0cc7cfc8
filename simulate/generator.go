package simulate

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
)

// Topics the simulator writes to, by event family.
const (
	TopicRemoteSessions  = "msp.remote_sessions"
	TopicSoftwareUpdates = "msp.software_updates"
)

// Config says what to generate. Only Start is required.
type Config struct {
	// Seed selects the traffic: the same Seed and Config give byte-identical
	// output.
	Seed int64
	// Start is the event time of the first event. It is required: a
	// default derived from the wall clock would not be deterministic.
	Start time.Time
	// Events is the total number of messages, attacks included; 0 means
	// unlimited.
	Events int
	// Duration, when positive, ends the stream before the first event at or
	// after Start+Duration (whichever of Events and Duration comes first).
	Duration time.Duration
	// MSPs is the number of MSPs (default 3).
	MSPs int
	// TenantsPerMSP is the number of client tenants of each MSP (default 10).
	TenantsPerMSP int
	// Scenarios are the attacks to inject, by name (see Scenarios).
	Scenarios []string
	// ScenarioAt is the offset from Start at which the attacks begin. 0 means
	// the middle of the benign span Events would cover (one hour when Events
	// is 0; half of Duration when only that is set). Attacks set later than
	// the span are cut off by Events or Duration.
	ScenarioAt time.Duration
	// ScenarioSpacing, when positive, staggers the attacks: the i-th of
	// Scenarios (in the order given) starts at ScenarioAt + i×ScenarioSpacing,
	// so one long run can hold every attack apart from the others.
	ScenarioSpacing time.Duration
	// OnboardAt, when positive, makes the last tenant of each MSP a new
	// client: it has no traffic until the MSP onboards it, MSP i at the first
	// weekday 10:00 local at or after Start + OnboardAt + i×3 days.
	OnboardAt time.Duration
	// Conventions vary the benign traffic's conventions (see Conventions);
	// the zero value is the default traffic, byte for byte.
	Conventions Conventions
}

// StartBefore returns a Start for c far enough back that its last event
// is not after now: the benign traffic is about 1,500 events per simulated
// hour for 3 MSPs of 10 tenants, proportionally more for bigger worlds, and
// the estimate is doubled for quiet nights and weekends. With Events 0
// (unlimited) it is an hour before now.
func StartBefore(now time.Time, c Config) time.Time {
	if c.Events <= 0 {
		return now.UTC().Add(-time.Hour).Truncate(time.Minute)
	}
	msps, tenants := c.MSPs, c.TenantsPerMSP
	if msps == 0 {
		msps = 3
	}
	if tenants == 0 {
		tenants = 10
	}
	perHour := 1500 * float64(max(msps*tenants, 1)) / 30
	span := time.Duration(2 * float64(c.Events) / perHour * float64(time.Hour))
	return now.UTC().Add(-span - time.Hour).Truncate(time.Hour)
}

// Message is one generated event, ready to produce.
type Message struct {
	// Topic is msp.remote_sessions or msp.software_updates.
	Topic string
	// Key is the MSP id. It is shared between messages of the same MSP:
	// do not modify it.
	Key []byte
	// Value is the JSON event. It is owned by the caller.
	Value []byte
	// Scenario is the name of the attack this message belongs to, empty for
	// benign traffic. It is ground truth for tests and is not in the JSON.
	Scenario string
	// Time is the event's time (the JSON's "time"), for callers that pace
	// by event time.
	Time time.Time
	// Headers are the Kafka headers to send with Value: none for contract
	// v1, the format headers for a vendor record (simulate/vendor).
	Headers []kafka.Header
}

// Generator produces a deterministic stream of MSP events. It is not safe
// for concurrent use.
type Generator struct {
	cfg     Config
	w       *world
	rng     *rand.Rand // benign traffic
	start   int64      // ms
	clock   int64      // ms: the time of the next benign arrival candidate
	lastOut int64
	emitted int
	seq     uint64
	q       queue

	// Thinning: candidate arrivals at rate sumMax, each source accepted
	// with probability rate(t)/max.
	sources []source
	sumMax  float64 // per ms

	scen      []pendingScenario
	nextWave  int64
	buf, slab []byte

	// Scheduled benign operations (emergency patches, agent rollouts,
	// nightly policies, trips, onboarding) from their own random stream.
	end     int64 // ms: Start + Duration, or MaxInt64
	done    bool
	jobs    []job
	nextJob int64
	// svcLogin is each MSP's PSA integration login (Conventions.ServiceLogins).
	svcLogin []extra
	// sched is each MSP's scheduled-job actor under
	// Conventions.ScheduledByAdmin, by policy (0: none, i+1: policy i).
	sched [][len(policyExtras) + 1]extra
	// omit are the JSON keys Conventions.Omit drops.
	omit   []string
	jrng   *rand.Rand
	oobSeq int
}

type source struct {
	msp   int16
	auto  bool
	max   float64 // per ms, at the rhythm's peak
	cumul float64
}

type pendingScenario struct {
	def  *scenarioDef
	idx  uint8
	at   int64
	rng  *rand.Rand
	done bool
}

// Episode rates at the rhythm's peak, per hour.
const (
	humanPerTenantHour = 10.0 // technician work: sessions, pushes, scripts
	autoPerHostHour    = 1.2  // agent check-ins: installs, agent updates, policies
	autoPeak           = 2.5  // the nightly maintenance window's multiplier
	msPerHour          = 3600 * 1000
)

// New validates cfg and returns a generator positioned at the first event.
func New(cfg Config) (*Generator, error) {
	if cfg.Start.IsZero() {
		return nil, errors.New("simulate: Config.Start is required")
	}
	if cfg.Start.Year() < 2000 {
		return nil, errors.New("simulate: Config.Start is before 2000")
	}
	if cfg.Events < 0 || cfg.MSPs < 0 || cfg.TenantsPerMSP < 0 || cfg.ScenarioAt < 0 || cfg.Duration < 0 || cfg.ScenarioSpacing < 0 || cfg.OnboardAt < 0 {
		return nil, errors.New("simulate: negative Events, Duration, MSPs, TenantsPerMSP, ScenarioAt, ScenarioSpacing or OnboardAt")
	}
	if cfg.MSPs == 0 {
		cfg.MSPs = 3
	}
	if cfg.TenantsPerMSP == 0 {
		cfg.TenantsPerMSP = 10
	}
	if cfg.MSPs > 1000 || cfg.TenantsPerMSP > 1000 {
		return nil, errors.New("simulate: at most 1000 MSPs and 1000 tenants per MSP")
	}
	if err := cfg.Conventions.validate(); err != nil {
		return nil, err
	}
	var defs []*scenarioDef
	for _, name := range cfg.Scenarios {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		d := lookupScenario(name)
		if d == nil {
			var valid []string
			for i := range scenarioDefs {
				valid = append(valid, scenarioDefs[i].Name)
			}
			return nil, fmt.Errorf("simulate: unknown scenario %q (valid: %s)", name, strings.Join(valid, ", "))
		}
		dup := false
		for _, x := range defs {
			dup = dup || x == d
		}
		if !dup {
			defs = append(defs, d)
		}
	}
	g := newGenerator(cfg)
	if len(defs) > 0 {
		at := cfg.ScenarioAt
		if at == 0 {
			at = time.Hour
			switch {
			case cfg.Events > 0:
				at = benignMidpoint(cfg)
				if cfg.Duration > 0 {
					at = min(at, cfg.Duration/2)
				}
			case cfg.Duration > 0:
				at = cfg.Duration / 2
			}
		}
		for i, d := range defs {
			g.scen = append(g.scen, pendingScenario{
				def: d, idx: uint8(scenarioIndex(d) + 1), at: g.start + (at + time.Duration(i)*cfg.ScenarioSpacing).Milliseconds(),
				rng: rand.New(rand.NewPCG(uint64(cfg.Seed), hashString("scenario|"+d.Name))),
			})
		}
	}
	return g, nil
}

func newGenerator(cfg Config) *Generator {
	g := &Generator{
		cfg:   cfg,
		rng:   rand.New(rand.NewPCG(uint64(cfg.Seed), 0x7472_6970_6c69_6e65)),
		start: cfg.Start.UnixMilli(),
	}
	g.w = newWorld(rand.New(rand.NewPCG(uint64(cfg.Seed), 0x776f_726c_64)), cfg.MSPs, cfg.TenantsPerMSP, &cfg.Conventions)
	g.jrng = rand.New(rand.NewPCG(uint64(cfg.Seed), 0x6a6f_6273))
	g.clock = g.start
	g.end = math.MaxInt64
	if cfg.Duration > 0 {
		g.end = g.start + cfg.Duration.Milliseconds()
	}
	g.lastOut = math.MinInt64
	for i := range g.w.msps {
		m := &g.w.msps[i]
		h := humanPerTenantHour * float64(len(m.tenants)) / msPerHour
		a := autoPerHostHour * autoPeak * float64(m.hostTotal) / msPerHour
		g.sources = append(g.sources, source{msp: int16(i), max: h}, source{msp: int16(i), auto: true, max: a})
		m.nextWave = patchWaveAfter(g.start, m.tz)
	}
	for i := range g.sources {
		g.sumMax += g.sources[i].max
		g.sources[i].cumul = g.sumMax
	}
	g.updateNextWave()
	g.nextJob = math.MaxInt64
	g.scheduleJobs(cfg.OnboardAt)
	g.applyConventions()
	g.clock += g.expMs()
	return g
}

// benignMidpoint runs the benign traffic alone, without rendering, to find
// the event time halfway through the configured span.
func benignMidpoint(cfg Config) time.Duration {
	c := cfg
	c.Scenarios = nil
	g := newGenerator(c)
	var last int64 = g.start
	for i := 0; i < cfg.Events/2; i++ {
		ev := g.step()
		last = ev.at
	}
	return time.Duration(last-g.start) * time.Millisecond
}

func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// Next returns the next message in event-time order, or false when Events
// messages have been returned.
func (g *Generator) Next() (Message, bool) {
	if g.done || g.cfg.Events > 0 && g.emitted >= g.cfg.Events {
		return Message{}, false
	}
	ev := g.step()
	if ev.at >= g.end {
		g.done = true
		return Message{}, false
	}
	m := &g.w.msps[ev.msp]
	g.emitted++
	msg := Message{Topic: TopicSoftwareUpdates, Key: m.key, Time: time.UnixMilli(ev.at).UTC()}
	if ev.kind <= kCredentialUse {
		msg.Topic = TopicRemoteSessions
	}
	if ev.scen > 0 {
		msg.Scenario = scenarioDefs[ev.scen-1].Name
	}
	g.buf = g.appendEvent(g.buf[:0], &ev)
	if len(g.omit) > 0 {
		g.buf = stripKeys(g.buf, g.omit)
	}
	n := len(g.buf)
	if cap(g.slab)-len(g.slab) < n {
		g.slab = make([]byte, 0, max(64<<10, n))
	}
	l := len(g.slab)
	g.slab = append(g.slab, g.buf...)
	msg.Value = g.slab[l : l+n : l+n]
	return msg, true
}

// step returns the next event descriptor, advancing the simulation as far
// as needed. Event times are strictly increasing (by at least 1 ms), which
// also makes every event's derived ID unique.
func (g *Generator) step() event {
	for {
		if g.q.len() > 0 {
			next := g.q.minAt()
			if next <= g.clock && next <= g.nextTrigger() {
				break
			}
		}
		g.advance()
	}
	ev := g.q.pop()
	if ev.at <= g.lastOut {
		ev.at = g.lastOut + 1
	}
	g.lastOut = ev.at
	return ev
}

func (g *Generator) nextTrigger() int64 {
	t := min(g.nextWave, g.nextJob)
	for i := range g.scen {
		if !g.scen[i].done && g.scen[i].at < t {
			t = g.scen[i].at
		}
	}
	return t
}

// advance processes whatever comes first: an attack, a Patch-Tuesday wave,
// or the next candidate benign arrival.
func (g *Generator) advance() {
	trig := g.nextTrigger()
	if trig <= g.clock {
		for i := range g.scen {
			s := &g.scen[i]
			if !s.done && s.at == trig {
				s.done = true
				s.def.inject(g, s.rng, s.at, s.idx)
				return
			}
		}
		for i := range g.w.msps {
			m := &g.w.msps[i]
			if m.nextWave == trig {
				g.patchWave(int16(i), trig)
				m.nextWave = patchWaveAfter(trig+1, m.tz)
				g.updateNextWave()
				return
			}
		}
		g.runJob(trig)
		return
	}
	t := g.clock
	g.clock += g.expMs()
	x := g.rng.Float64() * g.sumMax
	si := 0
	for si < len(g.sources)-1 && g.sources[si].cumul <= x {
		si++
	}
	s := &g.sources[si]
	m := &g.w.msps[s.msp]
	local := t/1000 + m.tz
	var f, peak float64
	if s.auto {
		f, peak = autoRhythm(local), autoPeak
	} else {
		f, peak = humanRhythm(local), 1
	}
	if g.rng.Float64()*peak >= f {
		return
	}
	if s.auto {
		g.autoEpisode(s.msp, t)
	} else {
		g.humanEpisode(s.msp, t, local)
	}
}

func (g *Generator) updateNextWave() {
	g.nextWave = math.MaxInt64
	for i := range g.w.msps {
		g.nextWave = min(g.nextWave, g.w.msps[i].nextWave)
	}
}

func (g *Generator) expMs() int64 {
	return int64(g.rng.ExpFloat64()/g.sumMax) + 1
}

// localClock splits local seconds since the epoch into weekday (0 = Sunday)
// and hour.
func localClock(local int64) (weekday, hour int) {
	days := floorDiv(local, 86400)
	return int((days + 4) % 7), int((local - days*86400) / 3600)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func workingHours(local int64) bool {
	wd, h := localClock(local)
	return wd >= 1 && wd <= 5 && h >= 8 && h < 18
}

// humanRhythm is technician activity relative to a weekday's peak.
func humanRhythm(local int64) float64 {
	wd, h := localClock(local)
	if wd == 0 || wd == 6 {
		return 0.05
	}
	switch {
	case h >= 9 && h < 17:
		return 1
	case h == 8 || h == 17:
		return 0.6
	case h == 7 || h == 18:
		return 0.25
	}
	return 0.06
}

// autoRhythm is agent activity: steady, busier in the 01–04 maintenance
// window, a little quieter at weekends.
func autoRhythm(local int64) float64 {
	wd, h := localClock(local)
	f := 1.0
	if h >= 1 && h < 4 {
		f = autoPeak
	}
	if wd == 0 || wd == 6 {
		f *= 0.8
	}
	return f
}

// patchWaveAfter is the first Patch-Tuesday wave at or after ms: the second
// Tuesday of a month, 19:00 MSP local time (after hours, under a change).
func patchWaveAfter(ms, tz int64) int64 {
	local := time.UnixMilli(ms + tz*1000).UTC()
	y, mo := local.Year(), local.Month()
	for range 3 {
		first := time.Date(y, mo, 1, 19, 0, 0, 0, time.UTC)
		off := (int(time.Tuesday) - int(first.Weekday()) + 7) % 7
		wave := first.AddDate(0, 0, off+7)
		at := wave.UnixMilli() - tz*1000
		if at >= ms {
			return at
		}
		mo++
		if mo > 12 {
			mo, y = 1, y+1
		}
	}
	return math.MaxInt64
}

func (g *Generator) push(ev event) {
	g.seq++
	ev.seq = g.seq
	g.q.push(ev)
}
