-- One line: pending|approved|rejected|over_cap|count_off|fcfs_broken|ok
-- ok is t when nothing is pending, no campaign approved more than its cap and
-- every approved_count equals its approved rows. fcfs_broken counts campaigns
-- where a rejected application is older (smaller id) than an approved one: it
-- is reported, not judged, because the floor does not promise FCFS (with SKIP
-- LOCKED a newer batch can take a campaign's lock before an older one).
WITH per_campaign AS (
  SELECT c.id, c.max_participants, c.approved_count,
         count(a.id) FILTER (WHERE a.status = 'approved')    AS approved,
         max(a.id)   FILTER (WHERE a.status = 'approved')    AS newest_approved,
         min(a.id)   FILTER (WHERE a.status = 'rejected')    AS oldest_rejected
    FROM campaigns c LEFT JOIN applications a ON a.campaign_id = c.id
   GROUP BY c.id
), totals AS (
  SELECT count(*) FILTER (WHERE status = 'pending')  AS pending,
         count(*) FILTER (WHERE status = 'approved') AS approved,
         count(*) FILTER (WHERE status = 'rejected') AS rejected
    FROM applications
), problems AS (
  SELECT count(*) FILTER (WHERE approved > max_participants)      AS over_cap,
         count(*) FILTER (WHERE approved <> approved_count)       AS count_off,
         count(*) FILTER (WHERE oldest_rejected < newest_approved) AS fcfs_broken
    FROM per_campaign
)
SELECT t.pending, t.approved, t.rejected, p.over_cap, p.count_off, p.fcfs_broken,
       t.pending = 0 AND p.over_cap = 0 AND p.count_off = 0 AS ok
  FROM totals t, problems p;
