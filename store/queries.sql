-- Example queries for SOC analysts. Each block is a name line, comment lines
-- describing it, then the SQL. Replace the quoted example values.
-- They run on ClickHouse 18.16 and on current releases (store tests run each
-- one). Replays leave duplicate rows until a background merge collapses them:
-- count with FINAL or uniqExact(id), never a bare count().

-- name: detections_last_24h_by_level
-- Detections of the last 24 hours by level, most severe first.
SELECT
    level,
    count() AS detections,
    uniqExact(msp) AS msps,
    uniqExact(tenant) AS tenants,
    groupUniqArray(rule_id) AS rules,
    min(first_time) AS earliest,
    max(last_time) AS latest
FROM tripline.detections FINAL
WHERE first_time >= now() - INTERVAL 24 HOUR
GROUP BY level
ORDER BY indexOf(['critical', 'high', 'medium', 'low', 'informational'], level), level;

-- name: package_hash_across_tenants
-- Every push or install of one package hash, per MSP and tenant: how far a
-- (possibly trojanised) package spread, who pushed it and when.
SELECT
    msp,
    tenant,
    count() AS events,
    groupUniqArray(event_type) AS event_types,
    groupUniqArray(actor_user) AS technicians,
    uniqExact(target_host) AS hosts_named,
    sum(ifNull(target_host_count, 0)) AS hosts_targeted,
    groupUniqArray(package_name) AS names,
    min(time) AS first_seen,
    max(time) AS last_seen
FROM tripline.events FINAL
WHERE package_sha256 = 'abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789'
  AND event_type IN ('software.push', 'software.install', 'agent.update')
GROUP BY msp, tenant
ORDER BY first_seen;

-- name: technician_sessions_by_country
-- One technician's remote sessions of the last 30 days by source country:
-- a new country or ASN is the classic sign of a stolen RMM account.
SELECT
    actor_country,
    count() AS sessions,
    uniqExact(tenant) AS tenants,
    groupUniqArray(actor_ip) AS ips,
    groupUniqArray(actor_asn) AS asns,
    countIf(actor_mfa = 0) AS without_mfa,
    sum(ifNull(session_duration_s, 0)) AS seconds,
    min(time) AS first_seen,
    max(time) AS last_seen
FROM tripline.events FINAL
WHERE msp = 'msp-a'
  AND actor_user = 'jdoe'
  AND event_type = 'session.start'
  AND time >= now() - INTERVAL 30 DAY
GROUP BY actor_country
ORDER BY sessions DESC;

-- name: event_count_dedup
-- Events per MSP and tenant over the last 7 days, correct under replays:
-- uniqExact(event_id) needs no merge; the FINAL count must agree with it.
SELECT
    msp,
    tenant,
    uniqExact(event_id) AS events,
    count() AS rows_stored
FROM tripline.events
WHERE time >= now() - INTERVAL 7 DAY
GROUP BY msp, tenant
ORDER BY events DESC;

-- name: event_count_final
-- The same count through FINAL, which collapses duplicates at read time.
SELECT msp, count() AS events
FROM tripline.events FINAL
WHERE time >= now() - INTERVAL 7 DAY
GROUP BY msp
ORDER BY events DESC;

-- name: unapproved_tool_activity
-- Activity through a remote tool the tenant has not approved, as ingest's
-- registry judged it (context.tool_approved = false), per MSP, tenant and
-- tool over the last 30 days: shadow RMM, or a takeover through a tool
-- nobody signed off.
SELECT
    msp,
    tenant,
    tool,
    count() AS events,
    groupUniqArray(event_type) AS event_types,
    groupUniqArray(actor_user) AS technicians,
    min(time) AS first_seen,
    max(time) AS last_seen
FROM tripline.events FINAL
WHERE context_tool_approved = 0
  AND time >= now() - INTERVAL 30 DAY
GROUP BY msp, tenant, tool
ORDER BY events DESC;
