package store

import (
	"fmt"
	"strings"
)

// Version is a ClickHouse server version as reported in the handshake.
type Version struct {
	Major, Minor, Patch int
}

func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// AtLeast reports whether v is major.minor or newer.
func (v Version) AtLeast(major, minor int) bool {
	return v.Major > major || v.Major == major && v.Minor >= minor
}

// Features are the schema capabilities tripline uses only where the server
// has them. Debian still ships 18.16 (2018); production runs 24.x.
type Features struct {
	// LowCardinality dictionary-encodes repetitive strings (msp, tenant,
	// event_type, ...). 18.x has it behind
	// allow_experimental_low_cardinality_type; the setting was made
	// obsolete in early 2019. 19.4 is the first release we are sure has it
	// on by default.
	LowCardinality bool
	// TTL (row expiry, Config.RetentionDays) arrived in 19.6.
	TTL bool
	// DateTime64 (millisecond event times) arrived in 20.1; older servers
	// store whole seconds. Either way time_frac_ns keeps the exact
	// fraction of the second.
	DateTime64 bool
	// SkipIndexes (minmax, bloom_filter data-skipping indices without an
	// experimental setting): 20.1.
	SkipIndexes bool
}

// FeaturesFor returns what tripline uses on a server of version v.
func FeaturesFor(v Version) Features {
	return Features{
		LowCardinality: v.AtLeast(19, 4),
		TTL:            v.AtLeast(19, 6),
		DateTime64:     v.AtLeast(20, 1),
		SkipIndexes:    v.AtLeast(20, 1),
	}
}

// String lists the enabled features, "none" for a legacy server. It is
// recorded with every applied migration.
func (f Features) String() string {
	var on []string
	if f.LowCardinality {
		on = append(on, "lowcardinality")
	}
	if f.TTL {
		on = append(on, "ttl")
	}
	if f.DateTime64 {
		on = append(on, "datetime64")
	}
	if f.SkipIndexes {
		on = append(on, "skipindexes")
	}
	if len(on) == 0 {
		return "none"
	}
	return strings.Join(on, ",")
}
