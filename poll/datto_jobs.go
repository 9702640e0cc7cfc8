package poll

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/rs/zerolog"

	"github.com/tripline/tripline/adapt"
)

// enricher is a kind whose records need more of the vendor's API before
// they are written: what a page says is not all an adapter must read.
type enricher interface {
	// enrich returns the page's records (a JSON array) with what it
	// added; an error leaves the page unwritten and its checkpoint where
	// it was, to be fetched again.
	enrich(ctx context.Context, c *client, records json.RawMessage) (json.RawMessage, error)
}

// Datto RMM's activity log names a job, not what it runs: a job run on a
// device is job/deployment with details {"job.uid", "job.name", ...}
// (Datto's published API v2). Whether the job deploys software is the
// category of its components ("Applications", beside "Scripts" and
// "Monitors"), which only the job's components (/v2/job/{uid}/components:
// uid and name) and the account's component list
// (/v2/account/components: uid and categoryCode) say. dattoJobs adds
// them to the details as componentName and componentCategory, the fields
// the datto-rmm adapter reads (docs/sources.md), so that a software
// deployment reads as software.push on a real export.

// maxDattoPages bounds the pages of one component listing.
const maxDattoPages = 50

// maxDattoJobs bounds the jobs remembered: a job's activities (one per
// device) come together, so the cache only needs to span a few pages.
const maxDattoJobs = 4096

// dattoJobs looks up and remembers the components of Datto RMM jobs. It
// belongs to one source's runner (not safe for concurrent use).
type dattoJobs struct {
	base string
	log  zerolog.Logger
	// jobs are the jobs looked up: their components' names and the
	// job's category ("" when unknown: the job is gone or the key may not
	// read it).
	jobs map[string]dattoJob
	// categories are the account's components, uid → categoryCode, as
	// last listed; listed again (once per page) when a job names one it
	// does not hold.
	categories map[string]string
	listed     bool
	// forbidden: the API key may not read jobs (403), asked once.
	forbidden bool
}

type dattoJob struct{ names, category string }

func newDattoJobs(base string, log zerolog.Logger) *dattoJobs {
	return &dattoJobs{base: strings.TrimRight(base, "/"), log: log, jobs: map[string]dattoJob{}}
}

func (k dattoRMM) enrich(ctx context.Context, c *client, records json.RawMessage) (json.RawMessage, error) {
	if k.jobs == nil {
		return records, nil
	}
	return k.jobs.enrich(ctx, c, records)
}

func (d *dattoJobs) enrich(ctx context.Context, c *client, records json.RawMessage) (json.RawMessage, error) {
	var recs []json.RawMessage
	if err := json.Unmarshal(records, &recs); err != nil {
		return nil, pageErr("records: %v", err)
	}
	d.listed = false
	changed := false
	for i, raw := range recs {
		out, ok, err := d.record(ctx, c, raw)
		if err != nil {
			return nil, err
		}
		if ok {
			recs[i], changed = out, true
		}
	}
	if !changed {
		return records, nil
	}
	out, err := json.Marshal(recs)
	if err != nil {
		return nil, fmt.Errorf("datto-rmm records: %w", err)
	}
	return out, nil
}

// record adds a job's components to a job activity's details. ok is false
// for a record left as it was: not a job, no job uid, details that are
// not a JSON object (the adapter reports those), components already
// there (a relay added them), or a job whose components are unknown.
func (d *dattoJobs) record(ctx context.Context, c *client, raw json.RawMessage) (json.RawMessage, bool, error) {
	var rec map[string]json.RawMessage
	if json.Unmarshal(raw, &rec) != nil {
		return nil, false, nil
	}
	// A member that is not a string is "" here (the adapter reports it).
	if category, _ := stringMember(rec, "category"); !strings.EqualFold(category, "job") {
		return nil, false, nil
	}
	text, _ := stringMember(rec, "details")
	var details map[string]json.RawMessage
	if text == "" || json.Unmarshal([]byte(text), &details) != nil || details == nil {
		return nil, false, nil
	}
	if _, ok := details["componentCategory"]; ok {
		return nil, false, nil
	}
	uid, _ := stringMember(details, "job.uid")
	if uid == "" {
		uid, _ = stringMember(details, "jobUid")
	}
	if uid == "" {
		return nil, false, nil
	}
	job, err := d.job(ctx, c, uid)
	if err != nil || job == (dattoJob{}) {
		return nil, false, err
	}
	if _, ok := details["componentName"]; !ok && job.names != "" {
		details["componentName"] = jsonText(job.names)
	}
	if job.category != "" {
		details["componentCategory"] = jsonText(job.category)
	}
	b, err := json.Marshal(details)
	if err != nil {
		return nil, false, fmt.Errorf("datto-rmm details: %w", err)
	}
	rec["details"] = jsonText(string(b))
	out, err := json.Marshal(rec)
	if err != nil {
		return nil, false, fmt.Errorf("datto-rmm record: %w", err)
	}
	return out, true, nil
}

// job is the components of job uid: looked up once, then remembered. A
// job the API does not show (404: deleted) is remembered as unknown, and
// an API key that may not read jobs (403) stops the lookups: the
// activities go on as they are. Any other failure is the page's.
func (d *dattoJobs) job(ctx context.Context, c *client, uid string) (dattoJob, error) {
	if j, ok := d.jobs[uid]; ok || d.forbidden {
		return j, nil
	}
	var comps []struct {
		UID  string `json:"uid"`
		Name string `json:"name"`
	}
	err := d.list(ctx, c, "/api/v2/job/"+url.PathEscape(uid)+"/components", "jobComponents", func(raw json.RawMessage) error {
		return json.Unmarshal(raw, &comps)
	})
	var se *statusError
	switch {
	case errors.As(err, &se) && se.status == http.StatusNotFound:
		d.log.Debug().Str("job", uid).Msg("datto-rmm: job not found (deleted?); its activities keep no component category")
		d.remember(uid, dattoJob{})
		return dattoJob{}, nil
	case errors.As(err, &se) && se.status == http.StatusForbidden:
		// Asking for every job would be refused the same way, at a
		// request each: no more lookups until the poller restarts.
		d.log.Warn().Msg("datto-rmm: the API key may not read jobs (HTTP 403); job activities go on without their components' category, so software deployments read as script.run (docs/sources.md)")
		d.forbidden = true
		return dattoJob{}, nil
	}
	if err != nil {
		return dattoJob{}, fmt.Errorf("datto-rmm job %s components: %w", uid, err)
	}
	// A job deploys software if any of its components does; its name is
	// then what it installs (the Applications components), else all it
	// runs.
	var j dattoJob
	var names, apps []string
	for _, comp := range comps {
		cat, err := d.category(ctx, c, comp.UID)
		if err != nil {
			return dattoJob{}, err
		}
		if comp.Name != "" {
			names = append(names, comp.Name)
		}
		if adapt.DattoSoftwareJob(cat) {
			j.category = adapt.DattoApplications
			if comp.Name != "" {
				apps = append(apps, comp.Name)
			}
		} else if j.category == "" {
			j.category = cat
		}
	}
	if j.category == adapt.DattoApplications {
		names = apps
	}
	j.names = strings.Join(names, ", ")
	d.remember(uid, j)
	return j, nil
}

func (d *dattoJobs) remember(uid string, j dattoJob) {
	if len(d.jobs) >= maxDattoJobs {
		clear(d.jobs)
	}
	d.jobs[uid] = j
}

// category is the categoryCode of component uid, from the account's
// component list (listed again at most once per page for a uid it lacks).
func (d *dattoJobs) category(ctx context.Context, c *client, uid string) (string, error) {
	if cat, ok := d.categories[uid]; ok || uid == "" || d.listed {
		return cat, nil
	}
	d.listed = true
	all := map[string]string{}
	err := d.list(ctx, c, "/api/v2/account/components", "components", func(raw json.RawMessage) error {
		var comps []struct {
			UID          string `json:"uid"`
			CategoryCode string `json:"categoryCode"`
		}
		if err := json.Unmarshal(raw, &comps); err != nil {
			return err
		}
		for _, comp := range comps {
			all[comp.UID] = comp.CategoryCode
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("datto-rmm account components: %w", err)
	}
	d.categories = all
	return all[uid], nil
}

// list reads a paged listing (pageDetails.nextPageUrl) from path, handing
// each page's array under key (members: an array, or absent) to read.
func (d *dattoJobs) list(ctx context.Context, c *client, path, key string, read func(json.RawMessage) error) error {
	next := d.base + path
	for range maxDattoPages {
		u := next
		body, err := c.do(ctx, func(ctx context.Context) (*http.Request, error) {
			return http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		})
		if err != nil {
			return err
		}
		m, raw, n, err := members(body, key)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if n > 0 {
			if err := read(raw); err != nil {
				return pageErr("%s: %s: %v", path, key, err)
			}
		}
		nextURL, err := dattoNextPage(m)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if nextURL == "" {
			return nil
		}
		nu, err := sameOrigin(d.base, nextURL)
		if err != nil {
			return err
		}
		if nu.String() == u {
			return pageErr("%s: nextPageUrl did not change (the API would loop)", path)
		}
		next = nu.String()
	}
	return pageErr("%s: more than %d pages", path, maxDattoPages)
}

// jsonText is s as a JSON string.
func jsonText(s string) json.RawMessage {
	b, _ := json.Marshal(s) // a string always marshals
	return b
}
