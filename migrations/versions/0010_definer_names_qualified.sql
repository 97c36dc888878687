-- 0010_definer_names_qualified: the analytics' functions with every name schema-qualified.
-- Run by 0010_definer_names_qualified.py, one statement at a time, in the revision's
-- transaction.
--
-- The trigger functions run as their owner (0009). A SECURITY DEFINER function that
-- resolves a name through a schema other roles may create in runs their code with the
-- owner's rights: `nextval('x')` picks a `public.nextval(text)` over
-- `pg_catalog.nextval(regclass)` for the untyped literal. So, as PostgreSQL advises, the
-- definer functions look up only pg_catalog (and pg_temp, last), and every table,
-- sequence and function of the analytics they use is written `public.name`.
--
-- The statements are those of 0004_rollups.sql and 0008 as the database held them,
-- changed only there: `public.` before each analytics table and function, the sequence
-- as `'public.data_version_seq'::regclass`, `pg_catalog.` before the two built-ins the
-- invoker functions call first, and the search_path settings. CREATE OR REPLACE keeps each
-- function's owner, grants and triggers.

-- The zone's name if PostgreSQL knows it, else 'UTC'. Invoker, no SET clause: called once per
-- account a statement touches, from the triggers below (whose search_path it inherits)
-- and from rollups_rebuild_account; its one call is qualified.
CREATE OR REPLACE FUNCTION public.rollup_zone(name text)
 RETURNS text
 LANGUAGE plpgsql
 STABLE
AS $fn$
BEGIN
  PERFORM pg_catalog.now() AT TIME ZONE name;
  RETURN name;
EXCEPTION WHEN others THEN
  RETURN 'UTC';
END
$fn$;

-- Recomputes every rollup of one account (0004_rollups.sql says how). Invoker, with its
-- own search_path: besides the time-zone trigger, `migrate` and `rebuild-rollups` call it
-- directly with the session's search_path, which includes public.
CREATE OR REPLACE FUNCTION public.rollups_rebuild_account(target uuid)
 RETURNS void
 LANGUAGE plpgsql
 SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    previous text := current_setting('app.current_account_id', true);
    k int;
BEGIN
    -- Bound to `target` for this transaction, so row-level security lets the
    -- statements below read and write its rows.
    PERFORM pg_catalog.set_config('app.current_account_id', target::text, true);

    -- 1. Start from nothing.
    DELETE FROM public.rollup_session_blocks WHERE account_id = target;
    DELETE FROM public.rollup_flow_blocks WHERE account_id = target;
    DELETE FROM public.rollup_psa_days WHERE account_id = target;
    DELETE FROM public.rollup_psa_time_sessions WHERE account_id = target;
    DELETE FROM public.rollup_psa_time_chains WHERE account_id = target;
    DELETE FROM public.rollup_session_pushes WHERE account_id = target;

    -- 2. PSA activity: pushes first, the session blocks' funnel flags read them.
    WITH zones AS MATERIALIZED (SELECT a.id, public.rollup_zone(a.timezone) AS zone
        FROM public.accounts a
        WHERE a.id IN (SELECT src.account_id
            FROM (SELECT 1 AS sign, p.* FROM public.psa_activity_log p
                  WHERE p.account_id = target) AS src)),
    acts AS (
        SELECT c.sign, c.account_id, c.session_id, c.activity_type, c.hours_logged,
               (c.created_at AT TIME ZONE z.zone)::date AS day
        FROM (SELECT 1 AS sign, p.* FROM public.psa_activity_log p
              WHERE p.account_id = target) c
        JOIN zones z ON z.id = c.account_id
    )
    INSERT INTO public.rollup_session_pushes AS r (account_id, session_id, notes, time_entries)
    SELECT
        a.account_id,
        a.session_id,
        sum(a.sign * (a.activity_type = 'note_posted')::int) AS notes,
        sum(a.sign * (a.activity_type = 'time_entry_posted')::int) AS time_entries
    FROM acts a
    WHERE a.session_id IS NOT NULL
    GROUP BY 1, 2
    -- Keys whose signed sums all cancel out change nothing: not written.
    HAVING sum(a.sign * (a.activity_type = 'note_posted')::int) <> 0
        OR sum(a.sign * (a.activity_type = 'time_entry_posted')::int) <> 0
    -- Key order, so concurrent statements lock the rows in the same order.
    ORDER BY 1, 2
    ON CONFLICT (account_id, session_id) DO UPDATE
    SET notes = r.notes + excluded.notes,
        time_entries = r.time_entries + excluded.time_entries;

    WITH zones AS MATERIALIZED (SELECT a.id, public.rollup_zone(a.timezone) AS zone
        FROM public.accounts a
        WHERE a.id IN (SELECT src.account_id
            FROM (SELECT 1 AS sign, p.* FROM public.psa_activity_log p
                  WHERE p.account_id = target) AS src)),
    acts AS (
        SELECT c.sign, c.account_id, c.session_id, c.activity_type, c.hours_logged,
               (c.created_at AT TIME ZONE z.zone)::date AS day
        FROM (SELECT 1 AS sign, p.* FROM public.psa_activity_log p
              WHERE p.account_id = target) c
        JOIN zones z ON z.id = c.account_id
    )
    INSERT INTO public.rollup_psa_days AS r
        (account_id, day, time_entries, hours, notes, status_updates)
    SELECT
        a.account_id,
        a.day,
        sum(a.sign * (a.activity_type = 'time_entry_posted')::int) AS time_entries,
        -- Hours count on time entries only.
        coalesce(sum(a.sign * a.hours_logged::numeric)
            FILTER (WHERE a.activity_type = 'time_entry_posted'), 0) AS hours,
        sum(a.sign * (a.activity_type = 'note_posted')::int) AS notes,
        sum(a.sign * (a.activity_type = 'status_updated')::int) AS status_updates
    FROM acts a
    GROUP BY 1, 2
    -- Keys whose signed sums all cancel out change nothing: not written.
    HAVING sum(a.sign * (a.activity_type = 'time_entry_posted')::int) <> 0
        OR coalesce(sum(a.sign * a.hours_logged::numeric)
               FILTER (WHERE a.activity_type = 'time_entry_posted'), 0) <> 0
        OR sum(a.sign * (a.activity_type = 'note_posted')::int) <> 0
        OR sum(a.sign * (a.activity_type = 'status_updated')::int) <> 0
    -- Key order, so concurrent statements lock the rows in the same order.
    ORDER BY 1, 2
    ON CONFLICT (account_id, day) DO UPDATE
    SET time_entries = r.time_entries + excluded.time_entries,
        hours = r.hours + excluded.hours,
        notes = r.notes + excluded.notes,
        status_updates = r.status_updates + excluded.status_updates;

    WITH zones AS MATERIALIZED (SELECT a.id, public.rollup_zone(a.timezone) AS zone
        FROM public.accounts a
        WHERE a.id IN (SELECT src.account_id
            FROM (SELECT 1 AS sign, p.* FROM public.psa_activity_log p
                  WHERE p.account_id = target) AS src)),
    acts AS (
        SELECT c.sign, c.account_id, c.session_id, c.activity_type, c.hours_logged,
               (c.created_at AT TIME ZONE z.zone)::date AS day
        FROM (SELECT 1 AS sign, p.* FROM public.psa_activity_log p
              WHERE p.account_id = target) c
        JOIN zones z ON z.id = c.account_id
    )
    INSERT INTO public.rollup_psa_time_sessions AS r (account_id, session_id, day, entries)
    SELECT a.account_id, a.session_id, a.day, sum(a.sign) AS entries
    FROM acts a
    WHERE a.session_id IS NOT NULL AND a.activity_type = 'time_entry_posted'
    GROUP BY 1, 2, 3
    HAVING sum(a.sign) <> 0
    ORDER BY 1, 2, 3
    ON CONFLICT (account_id, session_id, day) DO UPDATE
    SET entries = r.entries + excluded.entries;

    -- Every time-entry day of each session, with the one before it.
    INSERT INTO public.rollup_psa_time_chains (account_id, day, prev_day, sessions)
    SELECT c.account_id, c.day, c.prev_day, count(*)
    FROM (SELECT t.account_id, t.day,
                 coalesce(lag(t.day) OVER (PARTITION BY t.session_id ORDER BY t.day),
                          DATE '-infinity') AS prev_day
          FROM public.rollup_psa_time_sessions t
          WHERE t.account_id = target) c
    GROUP BY 1, 2, 3;

    -- 3. Level 0 of both block tables, straight from the sessions.
    WITH zones AS MATERIALIZED (SELECT a.id, public.rollup_zone(a.timezone) AS zone
        FROM public.accounts a
        WHERE a.id IN (SELECT src.account_id
            FROM (SELECT 1 AS sign, s.* FROM public.ai_sessions s
                  WHERE s.account_id = target) AS src)),
    facts AS (
        SELECT
            s.sign,
            s.account_id,
            ((s.started_at AT TIME ZONE z.zone)::date - DATE '1970-01-01') AS dayn,
            -- Domain key: lower-cased, runs of white space folded to one space, trimmed.
            coalesce(NULLIF(lower(btrim(regexp_replace(s.problem_domain, '\s+', ' ', 'g'))),
                            ''), '') AS domain_key,
            -- Spelling: trimmed as written; '' when the key is blank.
            CASE WHEN NULLIF(lower(btrim(regexp_replace(s.problem_domain, '\s+', ' ', 'g'))),
                             '') IS NULL THEN ''
                 ELSE regexp_replace(s.problem_domain, '^\s+|\s+$', '', 'g') END AS spelling,
            s.matched_flow_id AS flow_id,
            (s.status = 'resolved')::int AS resolved,
            (s.status = 'escalated')::int AS escalated,
            -- A session without a tier counts in none of the three.
            (s.confidence_tier IS NOT DISTINCT FROM 'guided')::int AS guided,
            (s.confidence_tier IS NOT DISTINCT FROM 'exploring')::int AS exploring,
            (s.confidence_tier IS NOT DISTINCT FROM 'discovery')::int AS discovery,
            -- NULL (not counted in resolution_count) unless resolved with a time.
            CASE WHEN s.status = 'resolved' AND s.resolved_at IS NOT NULL
                 THEN extract(epoch FROM s.resolved_at - s.started_at) / 60 END AS minutes,
            s.rating,
            s.match_confidence::numeric AS confidence,
            -- The PSA funnel: linked to a ticket, then a note pushed, then time logged;
            -- each step counts only with the ones before it.
            (coalesce(btrim(s.psa_ticket_id), '') <> '')::int AS linked,
            ((coalesce(btrim(s.psa_ticket_id), '') <> '')
             AND coalesce(p.notes, 0) > 0)::int AS doc_pushed,
            (((coalesce(btrim(s.psa_ticket_id), '') <> '')
              AND coalesce(p.notes, 0) > 0)
             AND coalesce(p.time_entries, 0) > 0)::int AS time_logged
        FROM (SELECT 1 AS sign, s.* FROM public.ai_sessions s
              WHERE s.account_id = target) s
        JOIN zones z ON z.id = s.account_id
        LEFT JOIN public.rollup_session_pushes p
            ON p.account_id = s.account_id AND p.session_id = s.id
        -- Only FlowPilot sessions are counted.
        WHERE s.session_type = 'flowpilot'
    )
    INSERT INTO public.rollup_session_blocks (account_id, level, block, domain_key, spelling,
        sessions, resolved, escalated, guided, exploring, discovery,
        resolution_count, resolution_minutes, rating_sum, rating_count,
        linked, doc_pushed, time_logged)
    SELECT
        f.account_id, 0, f.dayn, f.domain_key, f.spelling,
        sum(f.sign) AS sessions,
        sum(f.sign * f.resolved) AS resolved,
        sum(f.sign * f.escalated) AS escalated,
        sum(f.sign * f.guided) AS guided,
        sum(f.sign * f.exploring) AS exploring,
        sum(f.sign * f.discovery) AS discovery,
        sum(f.sign * (f.minutes IS NOT NULL)::int) AS resolution_count,
        coalesce(sum(f.sign * f.minutes), 0) AS resolution_minutes,
        coalesce(sum(f.sign * f.rating), 0) AS rating_sum,
        sum(f.sign * (f.rating IS NOT NULL)::int) AS rating_count,
        sum(f.sign * f.linked) AS linked,
        sum(f.sign * f.doc_pushed) AS doc_pushed,
        sum(f.sign * f.time_logged) AS time_logged
    FROM facts f
    GROUP BY 1, 2, 3, 4, 5
    HAVING sum(f.sign) <> 0
        OR sum(f.sign * f.resolved) <> 0
        OR sum(f.sign * f.escalated) <> 0
        OR sum(f.sign * f.guided) <> 0
        OR sum(f.sign * f.exploring) <> 0
        OR sum(f.sign * f.discovery) <> 0
        OR sum(f.sign * (f.minutes IS NOT NULL)::int) <> 0
        OR coalesce(sum(f.sign * f.minutes), 0) <> 0
        OR coalesce(sum(f.sign * f.rating), 0) <> 0
        OR sum(f.sign * (f.rating IS NOT NULL)::int) <> 0
        OR sum(f.sign * f.linked) <> 0
        OR sum(f.sign * f.doc_pushed) <> 0
        OR sum(f.sign * f.time_logged) <> 0
    ORDER BY 1, 2, 3, 4, 5;

    WITH zones AS MATERIALIZED (SELECT a.id, public.rollup_zone(a.timezone) AS zone
        FROM public.accounts a
        WHERE a.id IN (SELECT src.account_id
            FROM (SELECT 1 AS sign, s.* FROM public.ai_sessions s
                  WHERE s.account_id = target) AS src)),
    facts AS (
        SELECT
            s.sign,
            s.account_id,
            ((s.started_at AT TIME ZONE z.zone)::date - DATE '1970-01-01') AS dayn,
            -- Domain key: lower-cased, runs of white space folded to one space, trimmed.
            coalesce(NULLIF(lower(btrim(regexp_replace(s.problem_domain, '\s+', ' ', 'g'))),
                            ''), '') AS domain_key,
            -- Spelling: trimmed as written; '' when the key is blank.
            CASE WHEN NULLIF(lower(btrim(regexp_replace(s.problem_domain, '\s+', ' ', 'g'))),
                             '') IS NULL THEN ''
                 ELSE regexp_replace(s.problem_domain, '^\s+|\s+$', '', 'g') END AS spelling,
            s.matched_flow_id AS flow_id,
            (s.status = 'resolved')::int AS resolved,
            (s.status = 'escalated')::int AS escalated,
            -- A session without a tier counts in none of the three.
            (s.confidence_tier IS NOT DISTINCT FROM 'guided')::int AS guided,
            (s.confidence_tier IS NOT DISTINCT FROM 'exploring')::int AS exploring,
            (s.confidence_tier IS NOT DISTINCT FROM 'discovery')::int AS discovery,
            -- NULL (not counted in resolution_count) unless resolved with a time.
            CASE WHEN s.status = 'resolved' AND s.resolved_at IS NOT NULL
                 THEN extract(epoch FROM s.resolved_at - s.started_at) / 60 END AS minutes,
            s.rating,
            s.match_confidence::numeric AS confidence,
            -- The PSA funnel: linked to a ticket, then a note pushed, then time logged;
            -- each step counts only with the ones before it.
            (coalesce(btrim(s.psa_ticket_id), '') <> '')::int AS linked,
            ((coalesce(btrim(s.psa_ticket_id), '') <> '')
             AND coalesce(p.notes, 0) > 0)::int AS doc_pushed,
            (((coalesce(btrim(s.psa_ticket_id), '') <> '')
              AND coalesce(p.notes, 0) > 0)
             AND coalesce(p.time_entries, 0) > 0)::int AS time_logged
        FROM (SELECT 1 AS sign, s.* FROM public.ai_sessions s
              WHERE s.account_id = target) s
        JOIN zones z ON z.id = s.account_id
        LEFT JOIN public.rollup_session_pushes p
            ON p.account_id = s.account_id AND p.session_id = s.id
        -- Only FlowPilot sessions are counted.
        WHERE s.session_type = 'flowpilot'
    )
    INSERT INTO public.rollup_flow_blocks (account_id, level, block, flow_id,
        usage, resolved, guided, confidence_sum, confidence_count)
    SELECT
        f.account_id, 0, f.dayn, f.flow_id,
        sum(f.sign) AS usage,
        sum(f.sign * f.resolved) AS resolved,
        sum(f.sign * f.guided) AS guided,
        coalesce(sum(f.sign * f.confidence), 0) AS confidence_sum,
        sum(f.sign * (f.confidence IS NOT NULL)::int) AS confidence_count
    FROM facts f
    WHERE f.flow_id IS NOT NULL
    GROUP BY 1, 2, 3, 4
    HAVING sum(f.sign) <> 0
        OR sum(f.sign * f.resolved) <> 0
        OR sum(f.sign * f.guided) <> 0
        OR coalesce(sum(f.sign * f.confidence), 0) <> 0
        OR sum(f.sign * (f.confidence IS NOT NULL)::int) <> 0
    ORDER BY 1, 2, 3, 4;

    -- 4. Level k sums pairs of level k-1 blocks: block >> 1.
    FOR k IN 1..9 LOOP
        INSERT INTO public.rollup_session_blocks (account_id, level, block, domain_key, spelling,
            sessions, resolved, escalated, guided, exploring, discovery,
            resolution_count, resolution_minutes, rating_sum, rating_count,
            linked, doc_pushed, time_logged)
        SELECT target, k, block >> 1, domain_key, spelling,
               sum(sessions), sum(resolved), sum(escalated), sum(guided), sum(exploring),
               sum(discovery), sum(resolution_count), sum(resolution_minutes),
               sum(rating_sum), sum(rating_count), sum(linked), sum(doc_pushed),
               sum(time_logged)
        FROM public.rollup_session_blocks
        WHERE account_id = target AND level = k - 1
        GROUP BY block >> 1, domain_key, spelling;
        INSERT INTO public.rollup_flow_blocks (account_id, level, block, flow_id,
            usage, resolved, guided, confidence_sum, confidence_count)
        SELECT target, k, block >> 1, flow_id,
               sum(usage), sum(resolved), sum(guided), sum(confidence_sum),
               sum(confidence_count)
        FROM public.rollup_flow_blocks
        WHERE account_id = target AND level = k - 1
        GROUP BY block >> 1, flow_id;
    END LOOP;

    PERFORM pg_catalog.set_config('app.current_account_id', coalesce(previous, ''), true);
END
$fn$;

-- The rollup triggers on ai_sessions and psa_activity_log (0004_rollups.sql), as definer.
CREATE OR REPLACE FUNCTION public.rollup_ai_sessions_insert()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    -- 1. Session blocks.
    WITH zones AS MATERIALIZED (SELECT a.id, public.rollup_zone(a.timezone) AS zone
        FROM public.accounts a
        WHERE a.id IN (SELECT src.account_id
            FROM (SELECT 1 AS sign, n.* FROM new_rows n) AS src)),
    facts AS (
        SELECT
            s.sign,
            s.account_id,
            ((s.started_at AT TIME ZONE z.zone)::date - DATE '1970-01-01') AS dayn,
            -- Domain key: lower-cased, runs of white space folded to one space, trimmed.
            coalesce(NULLIF(lower(btrim(regexp_replace(s.problem_domain, '\s+', ' ', 'g'))),
                            ''), '') AS domain_key,
            -- Spelling: trimmed as written; '' when the key is blank.
            CASE WHEN NULLIF(lower(btrim(regexp_replace(s.problem_domain, '\s+', ' ', 'g'))),
                             '') IS NULL THEN ''
                 ELSE regexp_replace(s.problem_domain, '^\s+|\s+$', '', 'g') END AS spelling,
            s.matched_flow_id AS flow_id,
            (s.status = 'resolved')::int AS resolved,
            (s.status = 'escalated')::int AS escalated,
            -- A session without a tier counts in none of the three.
            (s.confidence_tier IS NOT DISTINCT FROM 'guided')::int AS guided,
            (s.confidence_tier IS NOT DISTINCT FROM 'exploring')::int AS exploring,
            (s.confidence_tier IS NOT DISTINCT FROM 'discovery')::int AS discovery,
            -- NULL (not counted in resolution_count) unless resolved with a time.
            CASE WHEN s.status = 'resolved' AND s.resolved_at IS NOT NULL
                 THEN extract(epoch FROM s.resolved_at - s.started_at) / 60 END AS minutes,
            s.rating,
            s.match_confidence::numeric AS confidence,
            -- The PSA funnel: linked to a ticket, then a note pushed, then time logged;
            -- each step counts only with the ones before it.
            (coalesce(btrim(s.psa_ticket_id), '') <> '')::int AS linked,
            ((coalesce(btrim(s.psa_ticket_id), '') <> '')
             AND coalesce(p.notes, 0) > 0)::int AS doc_pushed,
            (((coalesce(btrim(s.psa_ticket_id), '') <> '')
              AND coalesce(p.notes, 0) > 0)
             AND coalesce(p.time_entries, 0) > 0)::int AS time_logged
        FROM (SELECT 1 AS sign, n.* FROM new_rows n) s
        JOIN zones z ON z.id = s.account_id
        LEFT JOIN public.rollup_session_pushes p
            ON p.account_id = s.account_id AND p.session_id = s.id
        -- Only FlowPilot sessions are counted.
        WHERE s.session_type = 'flowpilot'
    )
    -- Every level 0..9 at once: block = day number >> level.
    INSERT INTO public.rollup_session_blocks AS r (account_id, level, block, domain_key, spelling,
        sessions, resolved, escalated, guided, exploring, discovery,
        resolution_count, resolution_minutes, rating_sum, rating_count,
        linked, doc_pushed, time_logged)
    SELECT
        f.account_id, l.level, f.dayn >> l.level, f.domain_key, f.spelling,
        sum(f.sign) AS sessions,
        sum(f.sign * f.resolved) AS resolved,
        sum(f.sign * f.escalated) AS escalated,
        sum(f.sign * f.guided) AS guided,
        sum(f.sign * f.exploring) AS exploring,
        sum(f.sign * f.discovery) AS discovery,
        sum(f.sign * (f.minutes IS NOT NULL)::int) AS resolution_count,
        coalesce(sum(f.sign * f.minutes), 0) AS resolution_minutes,
        coalesce(sum(f.sign * f.rating), 0) AS rating_sum,
        sum(f.sign * (f.rating IS NOT NULL)::int) AS rating_count,
        sum(f.sign * f.linked) AS linked,
        sum(f.sign * f.doc_pushed) AS doc_pushed,
        sum(f.sign * f.time_logged) AS time_logged
    FROM facts f CROSS JOIN generate_series(0, 9) AS l(level)
    GROUP BY 1, 2, 3, 4, 5
    -- Keys whose signed sums all cancel out change nothing: not written.
    HAVING sum(f.sign) <> 0
        OR sum(f.sign * f.resolved) <> 0
        OR sum(f.sign * f.escalated) <> 0
        OR sum(f.sign * f.guided) <> 0
        OR sum(f.sign * f.exploring) <> 0
        OR sum(f.sign * f.discovery) <> 0
        OR sum(f.sign * (f.minutes IS NOT NULL)::int) <> 0
        OR coalesce(sum(f.sign * f.minutes), 0) <> 0
        OR coalesce(sum(f.sign * f.rating), 0) <> 0
        OR sum(f.sign * (f.rating IS NOT NULL)::int) <> 0
        OR sum(f.sign * f.linked) <> 0
        OR sum(f.sign * f.doc_pushed) <> 0
        OR sum(f.sign * f.time_logged) <> 0
    -- Key order, so concurrent statements lock the rows in the same order.
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (account_id, level, block, domain_key, spelling) DO UPDATE
    SET sessions = r.sessions + excluded.sessions,
        resolved = r.resolved + excluded.resolved,
        escalated = r.escalated + excluded.escalated,
        guided = r.guided + excluded.guided,
        exploring = r.exploring + excluded.exploring,
        discovery = r.discovery + excluded.discovery,
        resolution_count = r.resolution_count + excluded.resolution_count,
        resolution_minutes = r.resolution_minutes + excluded.resolution_minutes,
        rating_sum = r.rating_sum + excluded.rating_sum,
        rating_count = r.rating_count + excluded.rating_count,
        linked = r.linked + excluded.linked,
        doc_pushed = r.doc_pushed + excluded.doc_pushed,
        time_logged = r.time_logged + excluded.time_logged;

    -- 2. Flow blocks (sessions with a matched flow).
    WITH zones AS MATERIALIZED (SELECT a.id, public.rollup_zone(a.timezone) AS zone
        FROM public.accounts a
        WHERE a.id IN (SELECT src.account_id
            FROM (SELECT 1 AS sign, n.* FROM new_rows n) AS src)),
    facts AS (
        SELECT
            s.sign,
            s.account_id,
            ((s.started_at AT TIME ZONE z.zone)::date - DATE '1970-01-01') AS dayn,
            -- Domain key: lower-cased, runs of white space folded to one space, trimmed.
            coalesce(NULLIF(lower(btrim(regexp_replace(s.problem_domain, '\s+', ' ', 'g'))),
                            ''), '') AS domain_key,
            -- Spelling: trimmed as written; '' when the key is blank.
            CASE WHEN NULLIF(lower(btrim(regexp_replace(s.problem_domain, '\s+', ' ', 'g'))),
                             '') IS NULL THEN ''
                 ELSE regexp_replace(s.problem_domain, '^\s+|\s+$', '', 'g') END AS spelling,
            s.matched_flow_id AS flow_id,
            (s.status = 'resolved')::int AS resolved,
            (s.status = 'escalated')::int AS escalated,
            -- A session without a tier counts in none of the three.
            (s.confidence_tier IS NOT DISTINCT FROM 'guided')::int AS guided,
            (s.confidence_tier IS NOT DISTINCT FROM 'exploring')::int AS exploring,
            (s.confidence_tier IS NOT DISTINCT FROM 'discovery')::int AS discovery,
            -- NULL (not counted in resolution_count) unless resolved with a time.
            CASE WHEN s.status = 'resolved' AND s.resolved_at IS NOT NULL
                 THEN extract(epoch FROM s.resolved_at - s.started_at) / 60 END AS minutes,
            s.rating,
            s.match_confidence::numeric AS confidence,
            -- The PSA funnel: linked to a ticket, then a note pushed, then time logged;
            -- each step counts only with the ones before it.
            (coalesce(btrim(s.psa_ticket_id), '') <> '')::int AS linked,
            ((coalesce(btrim(s.psa_ticket_id), '') <> '')
             AND coalesce(p.notes, 0) > 0)::int AS doc_pushed,
            (((coalesce(btrim(s.psa_ticket_id), '') <> '')
              AND coalesce(p.notes, 0) > 0)
             AND coalesce(p.time_entries, 0) > 0)::int AS time_logged
        FROM (SELECT 1 AS sign, n.* FROM new_rows n) s
        JOIN zones z ON z.id = s.account_id
        LEFT JOIN public.rollup_session_pushes p
            ON p.account_id = s.account_id AND p.session_id = s.id
        -- Only FlowPilot sessions are counted.
        WHERE s.session_type = 'flowpilot'
    )
    INSERT INTO public.rollup_flow_blocks AS r (account_id, level, block, flow_id,
        usage, resolved, guided, confidence_sum, confidence_count)
    SELECT
        f.account_id, l.level, f.dayn >> l.level, f.flow_id,
        sum(f.sign) AS usage,
        sum(f.sign * f.resolved) AS resolved,
        sum(f.sign * f.guided) AS guided,
        coalesce(sum(f.sign * f.confidence), 0) AS confidence_sum,
        sum(f.sign * (f.confidence IS NOT NULL)::int) AS confidence_count
    FROM facts f CROSS JOIN generate_series(0, 9) AS l(level)
    WHERE f.flow_id IS NOT NULL
    GROUP BY 1, 2, 3, 4
    -- Keys whose signed sums all cancel out change nothing: not written.
    HAVING sum(f.sign) <> 0
        OR sum(f.sign * f.resolved) <> 0
        OR sum(f.sign * f.guided) <> 0
        OR coalesce(sum(f.sign * f.confidence), 0) <> 0
        OR sum(f.sign * (f.confidence IS NOT NULL)::int) <> 0
    -- Key order, so concurrent statements lock the rows in the same order.
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (account_id, level, block, flow_id) DO UPDATE
    SET usage = r.usage + excluded.usage,
        resolved = r.resolved + excluded.resolved,
        guided = r.guided + excluded.guided,
        confidence_sum = r.confidence_sum + excluded.confidence_sum,
        confidence_count = r.confidence_count + excluded.confidence_count;

    RETURN NULL;
END
$fn$;
CREATE OR REPLACE FUNCTION public.rollup_ai_sessions_update()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    -- 1. Session blocks.
    WITH zones AS MATERIALIZED (SELECT a.id, public.rollup_zone(a.timezone) AS zone
        FROM public.accounts a
        WHERE a.id IN (SELECT src.account_id
            FROM (SELECT 1 AS sign, n.* FROM new_rows n
                  UNION ALL SELECT -1 AS sign, o.* FROM old_rows o) AS src)),
    facts AS (
        SELECT
            s.sign,
            s.account_id,
            ((s.started_at AT TIME ZONE z.zone)::date - DATE '1970-01-01') AS dayn,
            -- Domain key: lower-cased, runs of white space folded to one space, trimmed.
            coalesce(NULLIF(lower(btrim(regexp_replace(s.problem_domain, '\s+', ' ', 'g'))),
                            ''), '') AS domain_key,
            -- Spelling: trimmed as written; '' when the key is blank.
            CASE WHEN NULLIF(lower(btrim(regexp_replace(s.problem_domain, '\s+', ' ', 'g'))),
                             '') IS NULL THEN ''
                 ELSE regexp_replace(s.problem_domain, '^\s+|\s+$', '', 'g') END AS spelling,
            s.matched_flow_id AS flow_id,
            (s.status = 'resolved')::int AS resolved,
            (s.status = 'escalated')::int AS escalated,
            -- A session without a tier counts in none of the three.
            (s.confidence_tier IS NOT DISTINCT FROM 'guided')::int AS guided,
            (s.confidence_tier IS NOT DISTINCT FROM 'exploring')::int AS exploring,
            (s.confidence_tier IS NOT DISTINCT FROM 'discovery')::int AS discovery,
            -- NULL (not counted in resolution_count) unless resolved with a time.
            CASE WHEN s.status = 'resolved' AND s.resolved_at IS NOT NULL
                 THEN extract(epoch FROM s.resolved_at - s.started_at) / 60 END AS minutes,
            s.rating,
            s.match_confidence::numeric AS confidence,
            -- The PSA funnel: linked to a ticket, then a note pushed, then time logged;
            -- each step counts only with the ones before it.
            (coalesce(btrim(s.psa_ticket_id), '') <> '')::int AS linked,
            ((coalesce(btrim(s.psa_ticket_id), '') <> '')
             AND coalesce(p.notes, 0) > 0)::int AS doc_pushed,
            (((coalesce(btrim(s.psa_ticket_id), '') <> '')
              AND coalesce(p.notes, 0) > 0)
             AND coalesce(p.time_entries, 0) > 0)::int AS time_logged
        FROM (SELECT 1 AS sign, n.* FROM new_rows n
              UNION ALL SELECT -1 AS sign, o.* FROM old_rows o) s
        JOIN zones z ON z.id = s.account_id
        LEFT JOIN public.rollup_session_pushes p
            ON p.account_id = s.account_id AND p.session_id = s.id
        -- Only FlowPilot sessions are counted.
        WHERE s.session_type = 'flowpilot'
    )
    -- Every level 0..9 at once: block = day number >> level.
    INSERT INTO public.rollup_session_blocks AS r (account_id, level, block, domain_key, spelling,
        sessions, resolved, escalated, guided, exploring, discovery,
        resolution_count, resolution_minutes, rating_sum, rating_count,
        linked, doc_pushed, time_logged)
    SELECT
        f.account_id, l.level, f.dayn >> l.level, f.domain_key, f.spelling,
        sum(f.sign) AS sessions,
        sum(f.sign * f.resolved) AS resolved,
        sum(f.sign * f.escalated) AS escalated,
        sum(f.sign * f.guided) AS guided,
        sum(f.sign * f.exploring) AS exploring,
        sum(f.sign * f.discovery) AS discovery,
        sum(f.sign * (f.minutes IS NOT NULL)::int) AS resolution_count,
        coalesce(sum(f.sign * f.minutes), 0) AS resolution_minutes,
        coalesce(sum(f.sign * f.rating), 0) AS rating_sum,
        sum(f.sign * (f.rating IS NOT NULL)::int) AS rating_count,
        sum(f.sign * f.linked) AS linked,
        sum(f.sign * f.doc_pushed) AS doc_pushed,
        sum(f.sign * f.time_logged) AS time_logged
    FROM facts f CROSS JOIN generate_series(0, 9) AS l(level)
    GROUP BY 1, 2, 3, 4, 5
    -- Keys whose signed sums all cancel out change nothing: not written.
    HAVING sum(f.sign) <> 0
        OR sum(f.sign * f.resolved) <> 0
        OR sum(f.sign * f.escalated) <> 0
        OR sum(f.sign * f.guided) <> 0
        OR sum(f.sign * f.exploring) <> 0
        OR sum(f.sign * f.discovery) <> 0
        OR sum(f.sign * (f.minutes IS NOT NULL)::int) <> 0
        OR coalesce(sum(f.sign * f.minutes), 0) <> 0
        OR coalesce(sum(f.sign * f.rating), 0) <> 0
        OR sum(f.sign * (f.rating IS NOT NULL)::int) <> 0
        OR sum(f.sign * f.linked) <> 0
        OR sum(f.sign * f.doc_pushed) <> 0
        OR sum(f.sign * f.time_logged) <> 0
    -- Key order, so concurrent statements lock the rows in the same order.
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (account_id, level, block, domain_key, spelling) DO UPDATE
    SET sessions = r.sessions + excluded.sessions,
        resolved = r.resolved + excluded.resolved,
        escalated = r.escalated + excluded.escalated,
        guided = r.guided + excluded.guided,
        exploring = r.exploring + excluded.exploring,
        discovery = r.discovery + excluded.discovery,
        resolution_count = r.resolution_count + excluded.resolution_count,
        resolution_minutes = r.resolution_minutes + excluded.resolution_minutes,
        rating_sum = r.rating_sum + excluded.rating_sum,
        rating_count = r.rating_count + excluded.rating_count,
        linked = r.linked + excluded.linked,
        doc_pushed = r.doc_pushed + excluded.doc_pushed,
        time_logged = r.time_logged + excluded.time_logged;

    -- 2. Flow blocks (sessions with a matched flow).
    WITH zones AS MATERIALIZED (SELECT a.id, public.rollup_zone(a.timezone) AS zone
        FROM public.accounts a
        WHERE a.id IN (SELECT src.account_id
            FROM (SELECT 1 AS sign, n.* FROM new_rows n
                  UNION ALL SELECT -1 AS sign, o.* FROM old_rows o) AS src)),
    facts AS (
        SELECT
            s.sign,
            s.account_id,
            ((s.started_at AT TIME ZONE z.zone)::date - DATE '1970-01-01') AS dayn,
            -- Domain key: lower-cased, runs of white space folded to one space, trimmed.
            coalesce(NULLIF(lower(btrim(regexp_replace(s.problem_domain, '\s+', ' ', 'g'))),
                            ''), '') AS domain_key,
            -- Spelling: trimmed as written; '' when the key is blank.
            CASE WHEN NULLIF(lower(btrim(regexp_replace(s.problem_domain, '\s+', ' ', 'g'))),
                             '') IS NULL THEN ''
                 ELSE regexp_replace(s.problem_domain, '^\s+|\s+$', '', 'g') END AS spelling,
            s.matched_flow_id AS flow_id,
            (s.status = 'resolved')::int AS resolved,
            (s.status = 'escalated')::int AS escalated,
            -- A session without a tier counts in none of the three.
            (s.confidence_tier IS NOT DISTINCT FROM 'guided')::int AS guided,
            (s.confidence_tier IS NOT DISTINCT FROM 'exploring')::int AS exploring,
            (s.confidence_tier IS NOT DISTINCT FROM 'discovery')::int AS discovery,
            -- NULL (not counted in resolution_count) unless resolved with a time.
            CASE WHEN s.status = 'resolved' AND s.resolved_at IS NOT NULL
                 THEN extract(epoch FROM s.resolved_at - s.started_at) / 60 END AS minutes,
            s.rating,
            s.match_confidence::numeric AS confidence,
            -- The PSA funnel: linked to a ticket, then a note pushed, then time logged;
            -- each step counts only with the ones before it.
            (coalesce(btrim(s.psa_ticket_id), '') <> '')::int AS linked,
            ((coalesce(btrim(s.psa_ticket_id), '') <> '')
             AND coalesce(p.notes, 0) > 0)::int AS doc_pushed,
            (((coalesce(btrim(s.psa_ticket_id), '') <> '')
              AND coalesce(p.notes, 0) > 0)
             AND coalesce(p.time_entries, 0) > 0)::int AS time_logged
        FROM (SELECT 1 AS sign, n.* FROM new_rows n
              UNION ALL SELECT -1 AS sign, o.* FROM old_rows o) s
        JOIN zones z ON z.id = s.account_id
        LEFT JOIN public.rollup_session_pushes p
            ON p.account_id = s.account_id AND p.session_id = s.id
        -- Only FlowPilot sessions are counted.
        WHERE s.session_type = 'flowpilot'
    )
    INSERT INTO public.rollup_flow_blocks AS r (account_id, level, block, flow_id,
        usage, resolved, guided, confidence_sum, confidence_count)
    SELECT
        f.account_id, l.level, f.dayn >> l.level, f.flow_id,
        sum(f.sign) AS usage,
        sum(f.sign * f.resolved) AS resolved,
        sum(f.sign * f.guided) AS guided,
        coalesce(sum(f.sign * f.confidence), 0) AS confidence_sum,
        sum(f.sign * (f.confidence IS NOT NULL)::int) AS confidence_count
    FROM facts f CROSS JOIN generate_series(0, 9) AS l(level)
    WHERE f.flow_id IS NOT NULL
    GROUP BY 1, 2, 3, 4
    -- Keys whose signed sums all cancel out change nothing: not written.
    HAVING sum(f.sign) <> 0
        OR sum(f.sign * f.resolved) <> 0
        OR sum(f.sign * f.guided) <> 0
        OR coalesce(sum(f.sign * f.confidence), 0) <> 0
        OR sum(f.sign * (f.confidence IS NOT NULL)::int) <> 0
    -- Key order, so concurrent statements lock the rows in the same order.
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (account_id, level, block, flow_id) DO UPDATE
    SET usage = r.usage + excluded.usage,
        resolved = r.resolved + excluded.resolved,
        guided = r.guided + excluded.guided,
        confidence_sum = r.confidence_sum + excluded.confidence_sum,
        confidence_count = r.confidence_count + excluded.confidence_count;

    -- 3, 4. Blocks of the old rows that are now empty.
    WITH zones AS MATERIALIZED (SELECT a.id, public.rollup_zone(a.timezone) AS zone
        FROM public.accounts a
        WHERE a.id IN (SELECT src.account_id
            FROM (SELECT -1 AS sign, o.* FROM old_rows o) AS src)),
    facts AS (
        SELECT
            s.sign,
            s.account_id,
            ((s.started_at AT TIME ZONE z.zone)::date - DATE '1970-01-01') AS dayn,
            -- Domain key: lower-cased, runs of white space folded to one space, trimmed.
            coalesce(NULLIF(lower(btrim(regexp_replace(s.problem_domain, '\s+', ' ', 'g'))),
                            ''), '') AS domain_key,
            -- Spelling: trimmed as written; '' when the key is blank.
            CASE WHEN NULLIF(lower(btrim(regexp_replace(s.problem_domain, '\s+', ' ', 'g'))),
                             '') IS NULL THEN ''
                 ELSE regexp_replace(s.problem_domain, '^\s+|\s+$', '', 'g') END AS spelling,
            s.matched_flow_id AS flow_id,
            (s.status = 'resolved')::int AS resolved,
            (s.status = 'escalated')::int AS escalated,
            -- A session without a tier counts in none of the three.
            (s.confidence_tier IS NOT DISTINCT FROM 'guided')::int AS guided,
            (s.confidence_tier IS NOT DISTINCT FROM 'exploring')::int AS exploring,
            (s.confidence_tier IS NOT DISTINCT FROM 'discovery')::int AS discovery,
            -- NULL (not counted in resolution_count) unless resolved with a time.
            CASE WHEN s.status = 'resolved' AND s.resolved_at IS NOT NULL
                 THEN extract(epoch FROM s.resolved_at - s.started_at) / 60 END AS minutes,
            s.rating,
            s.match_confidence::numeric AS confidence,
            -- The PSA funnel: linked to a ticket, then a note pushed, then time logged;
            -- each step counts only with the ones before it.
            (coalesce(btrim(s.psa_ticket_id), '') <> '')::int AS linked,
            ((coalesce(btrim(s.psa_ticket_id), '') <> '')
             AND coalesce(p.notes, 0) > 0)::int AS doc_pushed,
            (((coalesce(btrim(s.psa_ticket_id), '') <> '')
              AND coalesce(p.notes, 0) > 0)
             AND coalesce(p.time_entries, 0) > 0)::int AS time_logged
        FROM (SELECT -1 AS sign, o.* FROM old_rows o) s
        JOIN zones z ON z.id = s.account_id
        LEFT JOIN public.rollup_session_pushes p
            ON p.account_id = s.account_id AND p.session_id = s.id
        -- Only FlowPilot sessions are counted.
        WHERE s.session_type = 'flowpilot'
    )
    -- A block left with no session has every other sum at 0 too.
    DELETE FROM public.rollup_session_blocks r
    USING facts f, generate_series(0, 9) AS l(level)
    WHERE r.account_id = f.account_id
      AND r.level = l.level
      AND r.block = f.dayn >> l.level
      AND r.domain_key = f.domain_key
      AND r.spelling = f.spelling
      AND r.sessions = 0;

    WITH zones AS MATERIALIZED (SELECT a.id, public.rollup_zone(a.timezone) AS zone
        FROM public.accounts a
        WHERE a.id IN (SELECT src.account_id
            FROM (SELECT -1 AS sign, o.* FROM old_rows o) AS src)),
    facts AS (
        SELECT
            s.sign,
            s.account_id,
            ((s.started_at AT TIME ZONE z.zone)::date - DATE '1970-01-01') AS dayn,
            -- Domain key: lower-cased, runs of white space folded to one space, trimmed.
            coalesce(NULLIF(lower(btrim(regexp_replace(s.problem_domain, '\s+', ' ', 'g'))),
                            ''), '') AS domain_key,
            -- Spelling: trimmed as written; '' when the key is blank.
            CASE WHEN NULLIF(lower(btrim(regexp_replace(s.problem_domain, '\s+', ' ', 'g'))),
                             '') IS NULL THEN ''
                 ELSE regexp_replace(s.problem_domain, '^\s+|\s+$', '', 'g') END AS spelling,
            s.matched_flow_id AS flow_id,
            (s.status = 'resolved')::int AS resolved,
            (s.status = 'escalated')::int AS escalated,
            -- A session without a tier counts in none of the three.
            (s.confidence_tier IS NOT DISTINCT FROM 'guided')::int AS guided,
            (s.confidence_tier IS NOT DISTINCT FROM 'exploring')::int AS exploring,
            (s.confidence_tier IS NOT DISTINCT FROM 'discovery')::int AS discovery,
            -- NULL (not counted in resolution_count) unless resolved with a time.
            CASE WHEN s.status = 'resolved' AND s.resolved_at IS NOT NULL
                 THEN extract(epoch FROM s.resolved_at - s.started_at) / 60 END AS minutes,
            s.rating,
            s.match_confidence::numeric AS confidence,
            -- The PSA funnel: linked to a ticket, then a note pushed, then time logged;
            -- each step counts only with the ones before it.
            (coalesce(btrim(s.psa_ticket_id), '') <> '')::int AS linked,
            ((coalesce(btrim(s.psa_ticket_id), '') <> '')
             AND coalesce(p.notes, 0) > 0)::int AS doc_pushed,
            (((coalesce(btrim(s.psa_ticket_id), '') <> '')
              AND coalesce(p.notes, 0) > 0)
             AND coalesce(p.time_entries, 0) > 0)::int AS time_logged
        FROM (SELECT -1 AS sign, o.* FROM old_rows o) s
        JOIN zones z ON z.id = s.account_id
        LEFT JOIN public.rollup_session_pushes p
            ON p.account_id = s.account_id AND p.session_id = s.id
        -- Only FlowPilot sessions are counted.
        WHERE s.session_type = 'flowpilot'
    )
    -- Likewise a flow block left with no use.
    DELETE FROM public.rollup_flow_blocks r
    USING facts f, generate_series(0, 9) AS l(level)
    WHERE r.account_id = f.account_id
      AND r.level = l.level
      AND r.block = f.dayn >> l.level
      AND r.flow_id = f.flow_id
      AND r.usage = 0;

    RETURN NULL;
END
$fn$;
CREATE OR REPLACE FUNCTION public.rollup_ai_sessions_delete()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    -- 1. Session blocks.
    WITH zones AS MATERIALIZED (SELECT a.id, public.rollup_zone(a.timezone) AS zone
        FROM public.accounts a
        WHERE a.id IN (SELECT src.account_id
            FROM (SELECT -1 AS sign, o.* FROM old_rows o) AS src)),
    facts AS (
        SELECT
            s.sign,
            s.account_id,
            ((s.started_at AT TIME ZONE z.zone)::date - DATE '1970-01-01') AS dayn,
            -- Domain key: lower-cased, runs of white space folded to one space, trimmed.
            coalesce(NULLIF(lower(btrim(regexp_replace(s.problem_domain, '\s+', ' ', 'g'))),
                            ''), '') AS domain_key,
            -- Spelling: trimmed as written; '' when the key is blank.
            CASE WHEN NULLIF(lower(btrim(regexp_replace(s.problem_domain, '\s+', ' ', 'g'))),
                             '') IS NULL THEN ''
                 ELSE regexp_replace(s.problem_domain, '^\s+|\s+$', '', 'g') END AS spelling,
            s.matched_flow_id AS flow_id,
            (s.status = 'resolved')::int AS resolved,
            (s.status = 'escalated')::int AS escalated,
            -- A session without a tier counts in none of the three.
            (s.confidence_tier IS NOT DISTINCT FROM 'guided')::int AS guided,
            (s.confidence_tier IS NOT DISTINCT FROM 'exploring')::int AS exploring,
            (s.confidence_tier IS NOT DISTINCT FROM 'discovery')::int AS discovery,
            -- NULL (not counted in resolution_count) unless resolved with a time.
            CASE WHEN s.status = 'resolved' AND s.resolved_at IS NOT NULL
                 THEN extract(epoch FROM s.resolved_at - s.started_at) / 60 END AS minutes,
            s.rating,
            s.match_confidence::numeric AS confidence,
            -- The PSA funnel: linked to a ticket, then a note pushed, then time logged;
            -- each step counts only with the ones before it.
            (coalesce(btrim(s.psa_ticket_id), '') <> '')::int AS linked,
            ((coalesce(btrim(s.psa_ticket_id), '') <> '')
             AND coalesce(p.notes, 0) > 0)::int AS doc_pushed,
            (((coalesce(btrim(s.psa_ticket_id), '') <> '')
              AND coalesce(p.notes, 0) > 0)
             AND coalesce(p.time_entries, 0) > 0)::int AS time_logged
        FROM (SELECT -1 AS sign, o.* FROM old_rows o) s
        JOIN zones z ON z.id = s.account_id
        LEFT JOIN public.rollup_session_pushes p
            ON p.account_id = s.account_id AND p.session_id = s.id
        -- Only FlowPilot sessions are counted.
        WHERE s.session_type = 'flowpilot'
    )
    -- Every level 0..9 at once: block = day number >> level.
    INSERT INTO public.rollup_session_blocks AS r (account_id, level, block, domain_key, spelling,
        sessions, resolved, escalated, guided, exploring, discovery,
        resolution_count, resolution_minutes, rating_sum, rating_count,
        linked, doc_pushed, time_logged)
    SELECT
        f.account_id, l.level, f.dayn >> l.level, f.domain_key, f.spelling,
        sum(f.sign) AS sessions,
        sum(f.sign * f.resolved) AS resolved,
        sum(f.sign * f.escalated) AS escalated,
        sum(f.sign * f.guided) AS guided,
        sum(f.sign * f.exploring) AS exploring,
        sum(f.sign * f.discovery) AS discovery,
        sum(f.sign * (f.minutes IS NOT NULL)::int) AS resolution_count,
        coalesce(sum(f.sign * f.minutes), 0) AS resolution_minutes,
        coalesce(sum(f.sign * f.rating), 0) AS rating_sum,
        sum(f.sign * (f.rating IS NOT NULL)::int) AS rating_count,
        sum(f.sign * f.linked) AS linked,
        sum(f.sign * f.doc_pushed) AS doc_pushed,
        sum(f.sign * f.time_logged) AS time_logged
    FROM facts f CROSS JOIN generate_series(0, 9) AS l(level)
    GROUP BY 1, 2, 3, 4, 5
    -- Keys whose signed sums all cancel out change nothing: not written.
    HAVING sum(f.sign) <> 0
        OR sum(f.sign * f.resolved) <> 0
        OR sum(f.sign * f.escalated) <> 0
        OR sum(f.sign * f.guided) <> 0
        OR sum(f.sign * f.exploring) <> 0
        OR sum(f.sign * f.discovery) <> 0
        OR sum(f.sign * (f.minutes IS NOT NULL)::int) <> 0
        OR coalesce(sum(f.sign * f.minutes), 0) <> 0
        OR coalesce(sum(f.sign * f.rating), 0) <> 0
        OR sum(f.sign * (f.rating IS NOT NULL)::int) <> 0
        OR sum(f.sign * f.linked) <> 0
        OR sum(f.sign * f.doc_pushed) <> 0
        OR sum(f.sign * f.time_logged) <> 0
    -- Key order, so concurrent statements lock the rows in the same order.
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (account_id, level, block, domain_key, spelling) DO UPDATE
    SET sessions = r.sessions + excluded.sessions,
        resolved = r.resolved + excluded.resolved,
        escalated = r.escalated + excluded.escalated,
        guided = r.guided + excluded.guided,
        exploring = r.exploring + excluded.exploring,
        discovery = r.discovery + excluded.discovery,
        resolution_count = r.resolution_count + excluded.resolution_count,
        resolution_minutes = r.resolution_minutes + excluded.resolution_minutes,
        rating_sum = r.rating_sum + excluded.rating_sum,
        rating_count = r.rating_count + excluded.rating_count,
        linked = r.linked + excluded.linked,
        doc_pushed = r.doc_pushed + excluded.doc_pushed,
        time_logged = r.time_logged + excluded.time_logged;

    -- 2. Flow blocks (sessions with a matched flow).
    WITH zones AS MATERIALIZED (SELECT a.id, public.rollup_zone(a.timezone) AS zone
        FROM public.accounts a
        WHERE a.id IN (SELECT src.account_id
            FROM (SELECT -1 AS sign, o.* FROM old_rows o) AS src)),
    facts AS (
        SELECT
            s.sign,
            s.account_id,
            ((s.started_at AT TIME ZONE z.zone)::date - DATE '1970-01-01') AS dayn,
            -- Domain key: lower-cased, runs of white space folded to one space, trimmed.
            coalesce(NULLIF(lower(btrim(regexp_replace(s.problem_domain, '\s+', ' ', 'g'))),
                            ''), '') AS domain_key,
            -- Spelling: trimmed as written; '' when the key is blank.
            CASE WHEN NULLIF(lower(btrim(regexp_replace(s.problem_domain, '\s+', ' ', 'g'))),
                             '') IS NULL THEN ''
                 ELSE regexp_replace(s.problem_domain, '^\s+|\s+$', '', 'g') END AS spelling,
            s.matched_flow_id AS flow_id,
            (s.status = 'resolved')::int AS resolved,
            (s.status = 'escalated')::int AS escalated,
            -- A session without a tier counts in none of the three.
            (s.confidence_tier IS NOT DISTINCT FROM 'guided')::int AS guided,
            (s.confidence_tier IS NOT DISTINCT FROM 'exploring')::int AS exploring,
            (s.confidence_tier IS NOT DISTINCT FROM 'discovery')::int AS discovery,
            -- NULL (not counted in resolution_count) unless resolved with a time.
            CASE WHEN s.status = 'resolved' AND s.resolved_at IS NOT NULL
                 THEN extract(epoch FROM s.resolved_at - s.started_at) / 60 END AS minutes,
            s.rating,
            s.match_confidence::numeric AS confidence,
            -- The PSA funnel: linked to a ticket, then a note pushed, then time logged;
            -- each step counts only with the ones before it.
            (coalesce(btrim(s.psa_ticket_id), '') <> '')::int AS linked,
            ((coalesce(btrim(s.psa_ticket_id), '') <> '')
             AND coalesce(p.notes, 0) > 0)::int AS doc_pushed,
            (((coalesce(btrim(s.psa_ticket_id), '') <> '')
              AND coalesce(p.notes, 0) > 0)
             AND coalesce(p.time_entries, 0) > 0)::int AS time_logged
        FROM (SELECT -1 AS sign, o.* FROM old_rows o) s
        JOIN zones z ON z.id = s.account_id
        LEFT JOIN public.rollup_session_pushes p
            ON p.account_id = s.account_id AND p.session_id = s.id
        -- Only FlowPilot sessions are counted.
        WHERE s.session_type = 'flowpilot'
    )
    INSERT INTO public.rollup_flow_blocks AS r (account_id, level, block, flow_id,
        usage, resolved, guided, confidence_sum, confidence_count)
    SELECT
        f.account_id, l.level, f.dayn >> l.level, f.flow_id,
        sum(f.sign) AS usage,
        sum(f.sign * f.resolved) AS resolved,
        sum(f.sign * f.guided) AS guided,
        coalesce(sum(f.sign * f.confidence), 0) AS confidence_sum,
        sum(f.sign * (f.confidence IS NOT NULL)::int) AS confidence_count
    FROM facts f CROSS JOIN generate_series(0, 9) AS l(level)
    WHERE f.flow_id IS NOT NULL
    GROUP BY 1, 2, 3, 4
    -- Keys whose signed sums all cancel out change nothing: not written.
    HAVING sum(f.sign) <> 0
        OR sum(f.sign * f.resolved) <> 0
        OR sum(f.sign * f.guided) <> 0
        OR coalesce(sum(f.sign * f.confidence), 0) <> 0
        OR sum(f.sign * (f.confidence IS NOT NULL)::int) <> 0
    -- Key order, so concurrent statements lock the rows in the same order.
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (account_id, level, block, flow_id) DO UPDATE
    SET usage = r.usage + excluded.usage,
        resolved = r.resolved + excluded.resolved,
        guided = r.guided + excluded.guided,
        confidence_sum = r.confidence_sum + excluded.confidence_sum,
        confidence_count = r.confidence_count + excluded.confidence_count;

    -- 3, 4. Blocks of the old rows that are now empty.
    WITH zones AS MATERIALIZED (SELECT a.id, public.rollup_zone(a.timezone) AS zone
        FROM public.accounts a
        WHERE a.id IN (SELECT src.account_id
            FROM (SELECT -1 AS sign, o.* FROM old_rows o) AS src)),
    facts AS (
        SELECT
            s.sign,
            s.account_id,
            ((s.started_at AT TIME ZONE z.zone)::date - DATE '1970-01-01') AS dayn,
            -- Domain key: lower-cased, runs of white space folded to one space, trimmed.
            coalesce(NULLIF(lower(btrim(regexp_replace(s.problem_domain, '\s+', ' ', 'g'))),
                            ''), '') AS domain_key,
            -- Spelling: trimmed as written; '' when the key is blank.
            CASE WHEN NULLIF(lower(btrim(regexp_replace(s.problem_domain, '\s+', ' ', 'g'))),
                             '') IS NULL THEN ''
                 ELSE regexp_replace(s.problem_domain, '^\s+|\s+$', '', 'g') END AS spelling,
            s.matched_flow_id AS flow_id,
            (s.status = 'resolved')::int AS resolved,
            (s.status = 'escalated')::int AS escalated,
            -- A session without a tier counts in none of the three.
            (s.confidence_tier IS NOT DISTINCT FROM 'guided')::int AS guided,
            (s.confidence_tier IS NOT DISTINCT FROM 'exploring')::int AS exploring,
            (s.confidence_tier IS NOT DISTINCT FROM 'discovery')::int AS discovery,
            -- NULL (not counted in resolution_count) unless resolved with a time.
            CASE WHEN s.status = 'resolved' AND s.resolved_at IS NOT NULL
                 THEN extract(epoch FROM s.resolved_at - s.started_at) / 60 END AS minutes,
            s.rating,
            s.match_confidence::numeric AS confidence,
            -- The PSA funnel: linked to a ticket, then a note pushed, then time logged;
            -- each step counts only with the ones before it.
            (coalesce(btrim(s.psa_ticket_id), '') <> '')::int AS linked,
            ((coalesce(btrim(s.psa_ticket_id), '') <> '')
             AND coalesce(p.notes, 0) > 0)::int AS doc_pushed,
            (((coalesce(btrim(s.psa_ticket_id), '') <> '')
              AND coalesce(p.notes, 0) > 0)
             AND coalesce(p.time_entries, 0) > 0)::int AS time_logged
        FROM (SELECT -1 AS sign, o.* FROM old_rows o) s
        JOIN zones z ON z.id = s.account_id
        LEFT JOIN public.rollup_session_pushes p
            ON p.account_id = s.account_id AND p.session_id = s.id
        -- Only FlowPilot sessions are counted.
        WHERE s.session_type = 'flowpilot'
    )
    -- A block left with no session has every other sum at 0 too.
    DELETE FROM public.rollup_session_blocks r
    USING facts f, generate_series(0, 9) AS l(level)
    WHERE r.account_id = f.account_id
      AND r.level = l.level
      AND r.block = f.dayn >> l.level
      AND r.domain_key = f.domain_key
      AND r.spelling = f.spelling
      AND r.sessions = 0;

    WITH zones AS MATERIALIZED (SELECT a.id, public.rollup_zone(a.timezone) AS zone
        FROM public.accounts a
        WHERE a.id IN (SELECT src.account_id
            FROM (SELECT -1 AS sign, o.* FROM old_rows o) AS src)),
    facts AS (
        SELECT
            s.sign,
            s.account_id,
            ((s.started_at AT TIME ZONE z.zone)::date - DATE '1970-01-01') AS dayn,
            -- Domain key: lower-cased, runs of white space folded to one space, trimmed.
            coalesce(NULLIF(lower(btrim(regexp_replace(s.problem_domain, '\s+', ' ', 'g'))),
                            ''), '') AS domain_key,
            -- Spelling: trimmed as written; '' when the key is blank.
            CASE WHEN NULLIF(lower(btrim(regexp_replace(s.problem_domain, '\s+', ' ', 'g'))),
                             '') IS NULL THEN ''
                 ELSE regexp_replace(s.problem_domain, '^\s+|\s+$', '', 'g') END AS spelling,
            s.matched_flow_id AS flow_id,
            (s.status = 'resolved')::int AS resolved,
            (s.status = 'escalated')::int AS escalated,
            -- A session without a tier counts in none of the three.
            (s.confidence_tier IS NOT DISTINCT FROM 'guided')::int AS guided,
            (s.confidence_tier IS NOT DISTINCT FROM 'exploring')::int AS exploring,
            (s.confidence_tier IS NOT DISTINCT FROM 'discovery')::int AS discovery,
            -- NULL (not counted in resolution_count) unless resolved with a time.
            CASE WHEN s.status = 'resolved' AND s.resolved_at IS NOT NULL
                 THEN extract(epoch FROM s.resolved_at - s.started_at) / 60 END AS minutes,
            s.rating,
            s.match_confidence::numeric AS confidence,
            -- The PSA funnel: linked to a ticket, then a note pushed, then time logged;
            -- each step counts only with the ones before it.
            (coalesce(btrim(s.psa_ticket_id), '') <> '')::int AS linked,
            ((coalesce(btrim(s.psa_ticket_id), '') <> '')
             AND coalesce(p.notes, 0) > 0)::int AS doc_pushed,
            (((coalesce(btrim(s.psa_ticket_id), '') <> '')
              AND coalesce(p.notes, 0) > 0)
             AND coalesce(p.time_entries, 0) > 0)::int AS time_logged
        FROM (SELECT -1 AS sign, o.* FROM old_rows o) s
        JOIN zones z ON z.id = s.account_id
        LEFT JOIN public.rollup_session_pushes p
            ON p.account_id = s.account_id AND p.session_id = s.id
        -- Only FlowPilot sessions are counted.
        WHERE s.session_type = 'flowpilot'
    )
    -- Likewise a flow block left with no use.
    DELETE FROM public.rollup_flow_blocks r
    USING facts f, generate_series(0, 9) AS l(level)
    WHERE r.account_id = f.account_id
      AND r.level = l.level
      AND r.block = f.dayn >> l.level
      AND r.flow_id = f.flow_id
      AND r.usage = 0;

    RETURN NULL;
END
$fn$;
CREATE OR REPLACE FUNCTION public.rollup_psa_activity_log_insert()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    -- 1, 2. Daily activity.
    WITH zones AS MATERIALIZED (SELECT a.id, public.rollup_zone(a.timezone) AS zone
        FROM public.accounts a
        WHERE a.id IN (SELECT src.account_id
            FROM (SELECT 1 AS sign, n.* FROM new_rows n) AS src)),
    acts AS (
        SELECT c.sign, c.account_id, c.session_id, c.activity_type, c.hours_logged,
               (c.created_at AT TIME ZONE z.zone)::date AS day
        FROM (SELECT 1 AS sign, n.* FROM new_rows n) c
        JOIN zones z ON z.id = c.account_id
    )
    INSERT INTO public.rollup_psa_days AS r
        (account_id, day, time_entries, hours, notes, status_updates)
    SELECT
        a.account_id,
        a.day,
        sum(a.sign * (a.activity_type = 'time_entry_posted')::int) AS time_entries,
        -- Hours count on time entries only.
        coalesce(sum(a.sign * a.hours_logged::numeric)
            FILTER (WHERE a.activity_type = 'time_entry_posted'), 0) AS hours,
        sum(a.sign * (a.activity_type = 'note_posted')::int) AS notes,
        sum(a.sign * (a.activity_type = 'status_updated')::int) AS status_updates
    FROM acts a
    GROUP BY 1, 2
    -- Keys whose signed sums all cancel out change nothing: not written.
    HAVING sum(a.sign * (a.activity_type = 'time_entry_posted')::int) <> 0
        OR coalesce(sum(a.sign * a.hours_logged::numeric)
               FILTER (WHERE a.activity_type = 'time_entry_posted'), 0) <> 0
        OR sum(a.sign * (a.activity_type = 'note_posted')::int) <> 0
        OR sum(a.sign * (a.activity_type = 'status_updated')::int) <> 0
    -- Key order, so concurrent statements lock the rows in the same order.
    ORDER BY 1, 2
    ON CONFLICT (account_id, day) DO UPDATE
    SET time_entries = r.time_entries + excluded.time_entries,
        hours = r.hours + excluded.hours,
        notes = r.notes + excluded.notes,
        status_updates = r.status_updates + excluded.status_updates;

    WITH zones AS MATERIALIZED (SELECT a.id, public.rollup_zone(a.timezone) AS zone
        FROM public.accounts a
        WHERE a.id IN (SELECT src.account_id
            FROM (SELECT 1 AS sign, n.* FROM new_rows n) AS src)),
    acts AS (
        SELECT c.sign, c.account_id, c.session_id, c.activity_type, c.hours_logged,
               (c.created_at AT TIME ZONE z.zone)::date AS day
        FROM (SELECT 1 AS sign, n.* FROM new_rows n) c
        JOIN zones z ON z.id = c.account_id
    )
    -- A day with no entry, note or status update left (its hours are 0 with them).
    DELETE FROM public.rollup_psa_days r
    USING acts a
    WHERE r.account_id = a.account_id
      AND r.day = a.day
      AND r.time_entries = 0
      AND r.notes = 0
      AND r.status_updates = 0;

    -- 3. The funnel flags, read from public.rollup_session_pushes before step 4 changes it.
    WITH zones AS MATERIALIZED (SELECT a.id, public.rollup_zone(a.timezone) AS zone
        FROM public.accounts a
        WHERE a.id IN (SELECT src.account_id
            FROM (SELECT 1 AS sign, n.* FROM new_rows n) AS src)),
    acts AS (
        SELECT c.sign, c.account_id, c.session_id, c.activity_type, c.hours_logged,
               (c.created_at AT TIME ZONE z.zone)::date AS day
        FROM (SELECT 1 AS sign, n.* FROM new_rows n) c
        JOIN zones z ON z.id = c.account_id
    ),
    -- Each touched session's change in notes and time entries.
    d AS (SELECT a.account_id, a.session_id,
                 sum(a.sign * (a.activity_type = 'note_posted')::int) AS notes,
                 sum(a.sign * (a.activity_type = 'time_entry_posted')::int) AS time_entries
          FROM acts a
          WHERE a.session_id IS NOT NULL
          GROUP BY 1, 2
          HAVING sum(a.sign * (a.activity_type = 'note_posted')::int) <> 0
              OR sum(a.sign * (a.activity_type = 'time_entry_posted')::int) <> 0
          ORDER BY 1, 2),
    -- Its funnel flags before (p, not yet changed) and after (p + d) the statement.
    flags AS (
        SELECT d.account_id, d.session_id,
               coalesce(p.notes, 0) > 0 AS note0,
               coalesce(p.notes, 0) + d.notes > 0 AS note1,
               coalesce(p.time_entries, 0) > 0 AS time0,
               coalesce(p.time_entries, 0) + d.time_entries > 0 AS time1
        FROM d
        LEFT JOIN public.rollup_session_pushes p
            ON p.account_id = d.account_id AND p.session_id = d.session_id
    ),
    szones AS MATERIALIZED (SELECT a.id, public.rollup_zone(a.timezone) AS zone
        FROM public.accounts a
        WHERE a.id IN (SELECT account_id FROM d)),
    -- The block keys of those sessions (counted ones linked to a ticket: the flags
    -- count only there) and how their doc_pushed and time_logged flags move.
    moved AS (
        SELECT s.account_id,
               ((s.started_at AT TIME ZONE z.zone)::date - DATE '1970-01-01') AS dayn,
               -- Domain key: lower-cased, runs of white space folded to one space, trimmed.
               coalesce(NULLIF(lower(btrim(regexp_replace(s.problem_domain, '\s+', ' ', 'g'))),
                               ''), '') AS domain_key,
               -- Spelling: trimmed as written; '' when the key is blank.
               CASE WHEN NULLIF(lower(btrim(regexp_replace(s.problem_domain, '\s+', ' ', 'g'))),
                                '') IS NULL THEN ''
                    ELSE regexp_replace(s.problem_domain, '^\s+|\s+$', '', 'g') END AS spelling,
               f.note1::int - f.note0::int AS doc_pushed,
               (f.note1 AND f.time1)::int - (f.note0 AND f.time0)::int AS time_logged
        FROM flags f
        JOIN public.ai_sessions s ON s.id = f.session_id AND s.account_id = f.account_id
        JOIN szones z ON z.id = s.account_id
        WHERE s.session_type = 'flowpilot' AND coalesce(btrim(s.psa_ticket_id), '') <> ''
    )
    INSERT INTO public.rollup_session_blocks AS r (account_id, level, block, domain_key, spelling,
        sessions, resolved, escalated, guided, exploring, discovery,
        resolution_count, resolution_minutes, rating_sum, rating_count,
        linked, doc_pushed, time_logged)
    SELECT m.account_id, l.level, m.dayn >> l.level, m.domain_key, m.spelling,
           0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, sum(m.doc_pushed), sum(m.time_logged)
    FROM moved m CROSS JOIN generate_series(0, 9) AS l(level)
    GROUP BY 1, 2, 3, 4, 5
    HAVING sum(m.doc_pushed) <> 0 OR sum(m.time_logged) <> 0
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (account_id, level, block, domain_key, spelling) DO UPDATE
    SET doc_pushed = r.doc_pushed + excluded.doc_pushed,
        time_logged = r.time_logged + excluded.time_logged
    ;

    -- 4, 5. Notes and time entries per session.
    WITH zones AS MATERIALIZED (SELECT a.id, public.rollup_zone(a.timezone) AS zone
        FROM public.accounts a
        WHERE a.id IN (SELECT src.account_id
            FROM (SELECT 1 AS sign, n.* FROM new_rows n) AS src)),
    acts AS (
        SELECT c.sign, c.account_id, c.session_id, c.activity_type, c.hours_logged,
               (c.created_at AT TIME ZONE z.zone)::date AS day
        FROM (SELECT 1 AS sign, n.* FROM new_rows n) c
        JOIN zones z ON z.id = c.account_id
    )
    INSERT INTO public.rollup_session_pushes AS r (account_id, session_id, notes, time_entries)
    SELECT
        a.account_id,
        a.session_id,
        sum(a.sign * (a.activity_type = 'note_posted')::int) AS notes,
        sum(a.sign * (a.activity_type = 'time_entry_posted')::int) AS time_entries
    FROM acts a
    WHERE a.session_id IS NOT NULL
    GROUP BY 1, 2
    -- Keys whose signed sums all cancel out change nothing: not written.
    HAVING sum(a.sign * (a.activity_type = 'note_posted')::int) <> 0
        OR sum(a.sign * (a.activity_type = 'time_entry_posted')::int) <> 0
    -- Key order, so concurrent statements lock the rows in the same order.
    ORDER BY 1, 2
    ON CONFLICT (account_id, session_id) DO UPDATE
    SET notes = r.notes + excluded.notes,
        time_entries = r.time_entries + excluded.time_entries;

    WITH zones AS MATERIALIZED (SELECT a.id, public.rollup_zone(a.timezone) AS zone
        FROM public.accounts a
        WHERE a.id IN (SELECT src.account_id
            FROM (SELECT 1 AS sign, n.* FROM new_rows n) AS src)),
    acts AS (
        SELECT c.sign, c.account_id, c.session_id, c.activity_type, c.hours_logged,
               (c.created_at AT TIME ZONE z.zone)::date AS day
        FROM (SELECT 1 AS sign, n.* FROM new_rows n) c
        JOIN zones z ON z.id = c.account_id
    )
    DELETE FROM public.rollup_session_pushes r
    USING acts a
    WHERE r.account_id = a.account_id
      AND r.session_id = a.session_id
      AND r.notes = 0
      AND r.time_entries = 0;

    -- 6-10. Time-entry chains: off as they stood, time sessions updated, back on.
    WITH zones AS MATERIALIZED (SELECT a.id, public.rollup_zone(a.timezone) AS zone
        FROM public.accounts a
        WHERE a.id IN (SELECT src.account_id
            FROM (SELECT 1 AS sign, n.* FROM new_rows n) AS src)),
    acts AS (
        SELECT c.sign, c.account_id, c.session_id, c.activity_type, c.hours_logged,
               (c.created_at AT TIME ZONE z.zone)::date AS day
        FROM (SELECT 1 AS sign, n.* FROM new_rows n) c
        JOIN zones z ON z.id = c.account_id
    )
    -- The touched sessions' chains before the change, taken off.
    INSERT INTO public.rollup_psa_time_chains AS r (account_id, day, prev_day, sessions)
    SELECT c.account_id, c.day, c.prev_day, -count(*)
    FROM (
        -- Each time-entry day of a touched session, with the one before it.
        SELECT t.account_id, t.day,
               coalesce(lag(t.day) OVER (PARTITION BY t.account_id, t.session_id ORDER BY t.day),
                        DATE '-infinity') AS prev_day
        FROM public.rollup_psa_time_sessions t
        JOIN (SELECT DISTINCT account_id, session_id FROM acts
              WHERE session_id IS NOT NULL AND activity_type = 'time_entry_posted') x
          ON x.account_id = t.account_id AND x.session_id = t.session_id
    ) c
    GROUP BY 1, 2, 3
    ORDER BY 1, 2, 3
    ON CONFLICT (account_id, day, prev_day) DO UPDATE
    SET sessions = r.sessions + excluded.sessions;

    WITH zones AS MATERIALIZED (SELECT a.id, public.rollup_zone(a.timezone) AS zone
        FROM public.accounts a
        WHERE a.id IN (SELECT src.account_id
            FROM (SELECT 1 AS sign, n.* FROM new_rows n) AS src)),
    acts AS (
        SELECT c.sign, c.account_id, c.session_id, c.activity_type, c.hours_logged,
               (c.created_at AT TIME ZONE z.zone)::date AS day
        FROM (SELECT 1 AS sign, n.* FROM new_rows n) c
        JOIN zones z ON z.id = c.account_id
    )
    INSERT INTO public.rollup_psa_time_sessions AS r (account_id, session_id, day, entries)
    SELECT a.account_id, a.session_id, a.day, sum(a.sign) AS entries
    FROM acts a
    WHERE a.session_id IS NOT NULL AND a.activity_type = 'time_entry_posted'
    GROUP BY 1, 2, 3
    HAVING sum(a.sign) <> 0
    ORDER BY 1, 2, 3
    ON CONFLICT (account_id, session_id, day) DO UPDATE
    SET entries = r.entries + excluded.entries;

    WITH zones AS MATERIALIZED (SELECT a.id, public.rollup_zone(a.timezone) AS zone
        FROM public.accounts a
        WHERE a.id IN (SELECT src.account_id
            FROM (SELECT 1 AS sign, n.* FROM new_rows n) AS src)),
    acts AS (
        SELECT c.sign, c.account_id, c.session_id, c.activity_type, c.hours_logged,
               (c.created_at AT TIME ZONE z.zone)::date AS day
        FROM (SELECT 1 AS sign, n.* FROM new_rows n) c
        JOIN zones z ON z.id = c.account_id
    )
    DELETE FROM public.rollup_psa_time_sessions r
    USING acts a
    WHERE r.account_id = a.account_id
      AND r.session_id = a.session_id
      AND r.day = a.day
      AND r.entries = 0;

    WITH zones AS MATERIALIZED (SELECT a.id, public.rollup_zone(a.timezone) AS zone
        FROM public.accounts a
        WHERE a.id IN (SELECT src.account_id
            FROM (SELECT 1 AS sign, n.* FROM new_rows n) AS src)),
    acts AS (
        SELECT c.sign, c.account_id, c.session_id, c.activity_type, c.hours_logged,
               (c.created_at AT TIME ZONE z.zone)::date AS day
        FROM (SELECT 1 AS sign, n.* FROM new_rows n) c
        JOIN zones z ON z.id = c.account_id
    )
    -- The same sessions' chains as they now stand, put back.
    INSERT INTO public.rollup_psa_time_chains AS r (account_id, day, prev_day, sessions)
    SELECT c.account_id, c.day, c.prev_day, count(*)
    FROM (
        -- Each time-entry day of a touched session, with the one before it.
        SELECT t.account_id, t.day,
               coalesce(lag(t.day) OVER (PARTITION BY t.account_id, t.session_id ORDER BY t.day),
                        DATE '-infinity') AS prev_day
        FROM public.rollup_psa_time_sessions t
        JOIN (SELECT DISTINCT account_id, session_id FROM acts
              WHERE session_id IS NOT NULL AND activity_type = 'time_entry_posted') x
          ON x.account_id = t.account_id AND x.session_id = t.session_id
    ) c
    GROUP BY 1, 2, 3
    ORDER BY 1, 2, 3
    ON CONFLICT (account_id, day, prev_day) DO UPDATE
    SET sessions = r.sessions + excluded.sessions;

    WITH zones AS MATERIALIZED (SELECT a.id, public.rollup_zone(a.timezone) AS zone
        FROM public.accounts a
        WHERE a.id IN (SELECT src.account_id
            FROM (SELECT 1 AS sign, n.* FROM new_rows n) AS src)),
    acts AS (
        SELECT c.sign, c.account_id, c.session_id, c.activity_type, c.hours_logged,
               (c.created_at AT TIME ZONE z.zone)::date AS day
        FROM (SELECT 1 AS sign, n.* FROM new_rows n) c
        JOIN zones z ON z.id = c.account_id
    )
    DELETE FROM public.rollup_psa_time_chains r
    WHERE r.account_id IN (SELECT account_id FROM acts) AND r.sessions = 0;

    RETURN NULL;
END
$fn$;
CREATE OR REPLACE FUNCTION public.rollup_psa_activity_log_update()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    -- 1, 2. Daily activity.
    WITH zones AS MATERIALIZED (SELECT a.id, public.rollup_zone(a.timezone) AS zone
        FROM public.accounts a
        WHERE a.id IN (SELECT src.account_id
            FROM (SELECT 1 AS sign, n.* FROM new_rows n
                  UNION ALL SELECT -1 AS sign, o.* FROM old_rows o) AS src)),
    acts AS (
        SELECT c.sign, c.account_id, c.session_id, c.activity_type, c.hours_logged,
               (c.created_at AT TIME ZONE z.zone)::date AS day
        FROM (SELECT 1 AS sign, n.* FROM new_rows n
              UNION ALL SELECT -1 AS sign, o.* FROM old_rows o) c
        JOIN zones z ON z.id = c.account_id
    )
    INSERT INTO public.rollup_psa_days AS r
        (account_id, day, time_entries, hours, notes, status_updates)
    SELECT
        a.account_id,
        a.day,
        sum(a.sign * (a.activity_type = 'time_entry_posted')::int) AS time_entries,
        -- Hours count on time entries only.
        coalesce(sum(a.sign * a.hours_logged::numeric)
            FILTER (WHERE a.activity_type = 'time_entry_posted'), 0) AS hours,
        sum(a.sign * (a.activity_type = 'note_posted')::int) AS notes,
        sum(a.sign * (a.activity_type = 'status_updated')::int) AS status_updates
    FROM acts a
    GROUP BY 1, 2
    -- Keys whose signed sums all cancel out change nothing: not written.
    HAVING sum(a.sign * (a.activity_type = 'time_entry_posted')::int) <> 0
        OR coalesce(sum(a.sign * a.hours_logged::numeric)
               FILTER (WHERE a.activity_type = 'time_entry_posted'), 0) <> 0
        OR sum(a.sign * (a.activity_type = 'note_posted')::int) <> 0
        OR sum(a.sign * (a.activity_type = 'status_updated')::int) <> 0
    -- Key order, so concurrent statements lock the rows in the same order.
    ORDER BY 1, 2
    ON CONFLICT (account_id, day) DO UPDATE
    SET time_entries = r.time_entries + excluded.time_entries,
        hours = r.hours + excluded.hours,
        notes = r.notes + excluded.notes,
        status_updates = r.status_updates + excluded.status_updates;

    WITH zones AS MATERIALIZED (SELECT a.id, public.rollup_zone(a.timezone) AS zone
        FROM public.accounts a
        WHERE a.id IN (SELECT src.account_id
            FROM (SELECT 1 AS sign, n.* FROM new_rows n
                  UNION ALL SELECT -1 AS sign, o.* FROM old_rows o) AS src)),
    acts AS (
        SELECT c.sign, c.account_id, c.session_id, c.activity_type, c.hours_logged,
               (c.created_at AT TIME ZONE z.zone)::date AS day
        FROM (SELECT 1 AS sign, n.* FROM new_rows n
              UNION ALL SELECT -1 AS sign, o.* FROM old_rows o) c
        JOIN zones z ON z.id = c.account_id
    )
    -- A day with no entry, note or status update left (its hours are 0 with them).
    DELETE FROM public.rollup_psa_days r
    USING acts a
    WHERE r.account_id = a.account_id
      AND r.day = a.day
      AND r.time_entries = 0
      AND r.notes = 0
      AND r.status_updates = 0;

    -- 3. The funnel flags, read from public.rollup_session_pushes before step 4 changes it.
    WITH zones AS MATERIALIZED (SELECT a.id, public.rollup_zone(a.timezone) AS zone
        FROM public.accounts a
        WHERE a.id IN (SELECT src.account_id
            FROM (SELECT 1 AS sign, n.* FROM new_rows n
                  UNION ALL SELECT -1 AS sign, o.* FROM old_rows o) AS src)),
    acts AS (
        SELECT c.sign, c.account_id, c.session_id, c.activity_type, c.hours_logged,
               (c.created_at AT TIME ZONE z.zone)::date AS day
        FROM (SELECT 1 AS sign, n.* FROM new_rows n
              UNION ALL SELECT -1 AS sign, o.* FROM old_rows o) c
        JOIN zones z ON z.id = c.account_id
    ),
    -- Each touched session's change in notes and time entries.
    d AS (SELECT a.account_id, a.session_id,
                 sum(a.sign * (a.activity_type = 'note_posted')::int) AS notes,
                 sum(a.sign * (a.activity_type = 'time_entry_posted')::int) AS time_entries
          FROM acts a
          WHERE a.session_id IS NOT NULL
          GROUP BY 1, 2
          HAVING sum(a.sign * (a.activity_type = 'note_posted')::int) <> 0
              OR sum(a.sign * (a.activity_type = 'time_entry_posted')::int) <> 0
          ORDER BY 1, 2),
    -- Its funnel flags before (p, not yet changed) and after (p + d) the statement.
    flags AS (
        SELECT d.account_id, d.session_id,
               coalesce(p.notes, 0) > 0 AS note0,
               coalesce(p.notes, 0) + d.notes > 0 AS note1,
               coalesce(p.time_entries, 0) > 0 AS time0,
               coalesce(p.time_entries, 0) + d.time_entries > 0 AS time1
        FROM d
        LEFT JOIN public.rollup_session_pushes p
            ON p.account_id = d.account_id AND p.session_id = d.session_id
    ),
    szones AS MATERIALIZED (SELECT a.id, public.rollup_zone(a.timezone) AS zone
        FROM public.accounts a
        WHERE a.id IN (SELECT account_id FROM d)),
    -- The block keys of those sessions (counted ones linked to a ticket: the flags
    -- count only there) and how their doc_pushed and time_logged flags move.
    moved AS (
        SELECT s.account_id,
               ((s.started_at AT TIME ZONE z.zone)::date - DATE '1970-01-01') AS dayn,
               -- Domain key: lower-cased, runs of white space folded to one space, trimmed.
               coalesce(NULLIF(lower(btrim(regexp_replace(s.problem_domain, '\s+', ' ', 'g'))),
                               ''), '') AS domain_key,
               -- Spelling: trimmed as written; '' when the key is blank.
               CASE WHEN NULLIF(lower(btrim(regexp_replace(s.problem_domain, '\s+', ' ', 'g'))),
                                '') IS NULL THEN ''
                    ELSE regexp_replace(s.problem_domain, '^\s+|\s+$', '', 'g') END AS spelling,
               f.note1::int - f.note0::int AS doc_pushed,
               (f.note1 AND f.time1)::int - (f.note0 AND f.time0)::int AS time_logged
        FROM flags f
        JOIN public.ai_sessions s ON s.id = f.session_id AND s.account_id = f.account_id
        JOIN szones z ON z.id = s.account_id
        WHERE s.session_type = 'flowpilot' AND coalesce(btrim(s.psa_ticket_id), '') <> ''
    )
    INSERT INTO public.rollup_session_blocks AS r (account_id, level, block, domain_key, spelling,
        sessions, resolved, escalated, guided, exploring, discovery,
        resolution_count, resolution_minutes, rating_sum, rating_count,
        linked, doc_pushed, time_logged)
    SELECT m.account_id, l.level, m.dayn >> l.level, m.domain_key, m.spelling,
           0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, sum(m.doc_pushed), sum(m.time_logged)
    FROM moved m CROSS JOIN generate_series(0, 9) AS l(level)
    GROUP BY 1, 2, 3, 4, 5
    HAVING sum(m.doc_pushed) <> 0 OR sum(m.time_logged) <> 0
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (account_id, level, block, domain_key, spelling) DO UPDATE
    SET doc_pushed = r.doc_pushed + excluded.doc_pushed,
        time_logged = r.time_logged + excluded.time_logged
    ;

    -- 4, 5. Notes and time entries per session.
    WITH zones AS MATERIALIZED (SELECT a.id, public.rollup_zone(a.timezone) AS zone
        FROM public.accounts a
        WHERE a.id IN (SELECT src.account_id
            FROM (SELECT 1 AS sign, n.* FROM new_rows n
                  UNION ALL SELECT -1 AS sign, o.* FROM old_rows o) AS src)),
    acts AS (
        SELECT c.sign, c.account_id, c.session_id, c.activity_type, c.hours_logged,
               (c.created_at AT TIME ZONE z.zone)::date AS day
        FROM (SELECT 1 AS sign, n.* FROM new_rows n
              UNION ALL SELECT -1 AS sign, o.* FROM old_rows o) c
        JOIN zones z ON z.id = c.account_id
    )
    INSERT INTO public.rollup_session_pushes AS r (account_id, session_id, notes, time_entries)
    SELECT
        a.account_id,
        a.session_id,
        sum(a.sign * (a.activity_type = 'note_posted')::int) AS notes,
        sum(a.sign * (a.activity_type = 'time_entry_posted')::int) AS time_entries
    FROM acts a
    WHERE a.session_id IS NOT NULL
    GROUP BY 1, 2
    -- Keys whose signed sums all cancel out change nothing: not written.
    HAVING sum(a.sign * (a.activity_type = 'note_posted')::int) <> 0
        OR sum(a.sign * (a.activity_type = 'time_entry_posted')::int) <> 0
    -- Key order, so concurrent statements lock the rows in the same order.
    ORDER BY 1, 2
    ON CONFLICT (account_id, session_id) DO UPDATE
    SET notes = r.notes + excluded.notes,
        time_entries = r.time_entries + excluded.time_entries;

    WITH zones AS MATERIALIZED (SELECT a.id, public.rollup_zone(a.timezone) AS zone
        FROM public.accounts a
        WHERE a.id IN (SELECT src.account_id
            FROM (SELECT 1 AS sign, n.* FROM new_rows n
                  UNION ALL SELECT -1 AS sign, o.* FROM old_rows o) AS src)),
    acts AS (
        SELECT c.sign, c.account_id, c.session_id, c.activity_type, c.hours_logged,
               (c.created_at AT TIME ZONE z.zone)::date AS day
        FROM (SELECT 1 AS sign, n.* FROM new_rows n
              UNION ALL SELECT -1 AS sign, o.* FROM old_rows o) c
        JOIN zones z ON z.id = c.account_id
    )
    DELETE FROM public.rollup_session_pushes r
    USING acts a
    WHERE r.account_id = a.account_id
      AND r.session_id = a.session_id
      AND r.notes = 0
      AND r.time_entries = 0;

    -- 6-10. Time-entry chains: off as they stood, time sessions updated, back on.
    WITH zones AS MATERIALIZED (SELECT a.id, public.rollup_zone(a.timezone) AS zone
        FROM public.accounts a
        WHERE a.id IN (SELECT src.account_id
            FROM (SELECT 1 AS sign, n.* FROM new_rows n
                  UNION ALL SELECT -1 AS sign, o.* FROM old_rows o) AS src)),
    acts AS (
        SELECT c.sign, c.account_id, c.session_id, c.activity_type, c.hours_logged,
               (c.created_at AT TIME ZONE z.zone)::date AS day
        FROM (SELECT 1 AS sign, n.* FROM new_rows n
              UNION ALL SELECT -1 AS sign, o.* FROM old_rows o) c
        JOIN zones z ON z.id = c.account_id
    )
    -- The touched sessions' chains before the change, taken off.
    INSERT INTO public.rollup_psa_time_chains AS r (account_id, day, prev_day, sessions)
    SELECT c.account_id, c.day, c.prev_day, -count(*)
    FROM (
        -- Each time-entry day of a touched session, with the one before it.
        SELECT t.account_id, t.day,
               coalesce(lag(t.day) OVER (PARTITION BY t.account_id, t.session_id ORDER BY t.day),
                        DATE '-infinity') AS prev_day
        FROM public.rollup_psa_time_sessions t
        JOIN (SELECT DISTINCT account_id, session_id FROM acts
              WHERE session_id IS NOT NULL AND activity_type = 'time_entry_posted') x
          ON x.account_id = t.account_id AND x.session_id = t.session_id
    ) c
    GROUP BY 1, 2, 3
    ORDER BY 1, 2, 3
    ON CONFLICT (account_id, day, prev_day) DO UPDATE
    SET sessions = r.sessions + excluded.sessions;

    WITH zones AS MATERIALIZED (SELECT a.id, public.rollup_zone(a.timezone) AS zone
        FROM public.accounts a
        WHERE a.id IN (SELECT src.account_id
            FROM (SELECT 1 AS sign, n.* FROM new_rows n
                  UNION ALL SELECT -1 AS sign, o.* FROM old_rows o) AS src)),
    acts AS (
        SELECT c.sign, c.account_id, c.session_id, c.activity_type, c.hours_logged,
               (c.created_at AT TIME ZONE z.zone)::date AS day
        FROM (SELECT 1 AS sign, n.* FROM new_rows n
              UNION ALL SELECT -1 AS sign, o.* FROM old_rows o) c
        JOIN zones z ON z.id = c.account_id
    )
    INSERT INTO public.rollup_psa_time_sessions AS r (account_id, session_id, day, entries)
    SELECT a.account_id, a.session_id, a.day, sum(a.sign) AS entries
    FROM acts a
    WHERE a.session_id IS NOT NULL AND a.activity_type = 'time_entry_posted'
    GROUP BY 1, 2, 3
    HAVING sum(a.sign) <> 0
    ORDER BY 1, 2, 3
    ON CONFLICT (account_id, session_id, day) DO UPDATE
    SET entries = r.entries + excluded.entries;

    WITH zones AS MATERIALIZED (SELECT a.id, public.rollup_zone(a.timezone) AS zone
        FROM public.accounts a
        WHERE a.id IN (SELECT src.account_id
            FROM (SELECT 1 AS sign, n.* FROM new_rows n
                  UNION ALL SELECT -1 AS sign, o.* FROM old_rows o) AS src)),
    acts AS (
        SELECT c.sign, c.account_id, c.session_id, c.activity_type, c.hours_logged,
               (c.created_at AT TIME ZONE z.zone)::date AS day
        FROM (SELECT 1 AS sign, n.* FROM new_rows n
              UNION ALL SELECT -1 AS sign, o.* FROM old_rows o) c
        JOIN zones z ON z.id = c.account_id
    )
    DELETE FROM public.rollup_psa_time_sessions r
    USING acts a
    WHERE r.account_id = a.account_id
      AND r.session_id = a.session_id
      AND r.day = a.day
      AND r.entries = 0;

    WITH zones AS MATERIALIZED (SELECT a.id, public.rollup_zone(a.timezone) AS zone
        FROM public.accounts a
        WHERE a.id IN (SELECT src.account_id
            FROM (SELECT 1 AS sign, n.* FROM new_rows n
                  UNION ALL SELECT -1 AS sign, o.* FROM old_rows o) AS src)),
    acts AS (
        SELECT c.sign, c.account_id, c.session_id, c.activity_type, c.hours_logged,
               (c.created_at AT TIME ZONE z.zone)::date AS day
        FROM (SELECT 1 AS sign, n.* FROM new_rows n
              UNION ALL SELECT -1 AS sign, o.* FROM old_rows o) c
        JOIN zones z ON z.id = c.account_id
    )
    -- The same sessions' chains as they now stand, put back.
    INSERT INTO public.rollup_psa_time_chains AS r (account_id, day, prev_day, sessions)
    SELECT c.account_id, c.day, c.prev_day, count(*)
    FROM (
        -- Each time-entry day of a touched session, with the one before it.
        SELECT t.account_id, t.day,
               coalesce(lag(t.day) OVER (PARTITION BY t.account_id, t.session_id ORDER BY t.day),
                        DATE '-infinity') AS prev_day
        FROM public.rollup_psa_time_sessions t
        JOIN (SELECT DISTINCT account_id, session_id FROM acts
              WHERE session_id IS NOT NULL AND activity_type = 'time_entry_posted') x
          ON x.account_id = t.account_id AND x.session_id = t.session_id
    ) c
    GROUP BY 1, 2, 3
    ORDER BY 1, 2, 3
    ON CONFLICT (account_id, day, prev_day) DO UPDATE
    SET sessions = r.sessions + excluded.sessions;

    WITH zones AS MATERIALIZED (SELECT a.id, public.rollup_zone(a.timezone) AS zone
        FROM public.accounts a
        WHERE a.id IN (SELECT src.account_id
            FROM (SELECT 1 AS sign, n.* FROM new_rows n
                  UNION ALL SELECT -1 AS sign, o.* FROM old_rows o) AS src)),
    acts AS (
        SELECT c.sign, c.account_id, c.session_id, c.activity_type, c.hours_logged,
               (c.created_at AT TIME ZONE z.zone)::date AS day
        FROM (SELECT 1 AS sign, n.* FROM new_rows n
              UNION ALL SELECT -1 AS sign, o.* FROM old_rows o) c
        JOIN zones z ON z.id = c.account_id
    )
    DELETE FROM public.rollup_psa_time_chains r
    WHERE r.account_id IN (SELECT account_id FROM acts) AND r.sessions = 0;

    RETURN NULL;
END
$fn$;
CREATE OR REPLACE FUNCTION public.rollup_psa_activity_log_delete()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    -- 1, 2. Daily activity.
    WITH zones AS MATERIALIZED (SELECT a.id, public.rollup_zone(a.timezone) AS zone
        FROM public.accounts a
        WHERE a.id IN (SELECT src.account_id
            FROM (SELECT -1 AS sign, o.* FROM old_rows o) AS src)),
    acts AS (
        SELECT c.sign, c.account_id, c.session_id, c.activity_type, c.hours_logged,
               (c.created_at AT TIME ZONE z.zone)::date AS day
        FROM (SELECT -1 AS sign, o.* FROM old_rows o) c
        JOIN zones z ON z.id = c.account_id
    )
    INSERT INTO public.rollup_psa_days AS r
        (account_id, day, time_entries, hours, notes, status_updates)
    SELECT
        a.account_id,
        a.day,
        sum(a.sign * (a.activity_type = 'time_entry_posted')::int) AS time_entries,
        -- Hours count on time entries only.
        coalesce(sum(a.sign * a.hours_logged::numeric)
            FILTER (WHERE a.activity_type = 'time_entry_posted'), 0) AS hours,
        sum(a.sign * (a.activity_type = 'note_posted')::int) AS notes,
        sum(a.sign * (a.activity_type = 'status_updated')::int) AS status_updates
    FROM acts a
    GROUP BY 1, 2
    -- Keys whose signed sums all cancel out change nothing: not written.
    HAVING sum(a.sign * (a.activity_type = 'time_entry_posted')::int) <> 0
        OR coalesce(sum(a.sign * a.hours_logged::numeric)
               FILTER (WHERE a.activity_type = 'time_entry_posted'), 0) <> 0
        OR sum(a.sign * (a.activity_type = 'note_posted')::int) <> 0
        OR sum(a.sign * (a.activity_type = 'status_updated')::int) <> 0
    -- Key order, so concurrent statements lock the rows in the same order.
    ORDER BY 1, 2
    ON CONFLICT (account_id, day) DO UPDATE
    SET time_entries = r.time_entries + excluded.time_entries,
        hours = r.hours + excluded.hours,
        notes = r.notes + excluded.notes,
        status_updates = r.status_updates + excluded.status_updates;

    WITH zones AS MATERIALIZED (SELECT a.id, public.rollup_zone(a.timezone) AS zone
        FROM public.accounts a
        WHERE a.id IN (SELECT src.account_id
            FROM (SELECT -1 AS sign, o.* FROM old_rows o) AS src)),
    acts AS (
        SELECT c.sign, c.account_id, c.session_id, c.activity_type, c.hours_logged,
               (c.created_at AT TIME ZONE z.zone)::date AS day
        FROM (SELECT -1 AS sign, o.* FROM old_rows o) c
        JOIN zones z ON z.id = c.account_id
    )
    -- A day with no entry, note or status update left (its hours are 0 with them).
    DELETE FROM public.rollup_psa_days r
    USING acts a
    WHERE r.account_id = a.account_id
      AND r.day = a.day
      AND r.time_entries = 0
      AND r.notes = 0
      AND r.status_updates = 0;

    -- 3. The funnel flags, read from public.rollup_session_pushes before step 4 changes it.
    WITH zones AS MATERIALIZED (SELECT a.id, public.rollup_zone(a.timezone) AS zone
        FROM public.accounts a
        WHERE a.id IN (SELECT src.account_id
            FROM (SELECT -1 AS sign, o.* FROM old_rows o) AS src)),
    acts AS (
        SELECT c.sign, c.account_id, c.session_id, c.activity_type, c.hours_logged,
               (c.created_at AT TIME ZONE z.zone)::date AS day
        FROM (SELECT -1 AS sign, o.* FROM old_rows o) c
        JOIN zones z ON z.id = c.account_id
    ),
    -- Each touched session's change in notes and time entries.
    d AS (SELECT a.account_id, a.session_id,
                 sum(a.sign * (a.activity_type = 'note_posted')::int) AS notes,
                 sum(a.sign * (a.activity_type = 'time_entry_posted')::int) AS time_entries
          FROM acts a
          WHERE a.session_id IS NOT NULL
          GROUP BY 1, 2
          HAVING sum(a.sign * (a.activity_type = 'note_posted')::int) <> 0
              OR sum(a.sign * (a.activity_type = 'time_entry_posted')::int) <> 0
          ORDER BY 1, 2),
    -- Its funnel flags before (p, not yet changed) and after (p + d) the statement.
    flags AS (
        SELECT d.account_id, d.session_id,
               coalesce(p.notes, 0) > 0 AS note0,
               coalesce(p.notes, 0) + d.notes > 0 AS note1,
               coalesce(p.time_entries, 0) > 0 AS time0,
               coalesce(p.time_entries, 0) + d.time_entries > 0 AS time1
        FROM d
        LEFT JOIN public.rollup_session_pushes p
            ON p.account_id = d.account_id AND p.session_id = d.session_id
    ),
    szones AS MATERIALIZED (SELECT a.id, public.rollup_zone(a.timezone) AS zone
        FROM public.accounts a
        WHERE a.id IN (SELECT account_id FROM d)),
    -- The block keys of those sessions (counted ones linked to a ticket: the flags
    -- count only there) and how their doc_pushed and time_logged flags move.
    moved AS (
        SELECT s.account_id,
               ((s.started_at AT TIME ZONE z.zone)::date - DATE '1970-01-01') AS dayn,
               -- Domain key: lower-cased, runs of white space folded to one space, trimmed.
               coalesce(NULLIF(lower(btrim(regexp_replace(s.problem_domain, '\s+', ' ', 'g'))),
                               ''), '') AS domain_key,
               -- Spelling: trimmed as written; '' when the key is blank.
               CASE WHEN NULLIF(lower(btrim(regexp_replace(s.problem_domain, '\s+', ' ', 'g'))),
                                '') IS NULL THEN ''
                    ELSE regexp_replace(s.problem_domain, '^\s+|\s+$', '', 'g') END AS spelling,
               f.note1::int - f.note0::int AS doc_pushed,
               (f.note1 AND f.time1)::int - (f.note0 AND f.time0)::int AS time_logged
        FROM flags f
        JOIN public.ai_sessions s ON s.id = f.session_id AND s.account_id = f.account_id
        JOIN szones z ON z.id = s.account_id
        WHERE s.session_type = 'flowpilot' AND coalesce(btrim(s.psa_ticket_id), '') <> ''
    )
    INSERT INTO public.rollup_session_blocks AS r (account_id, level, block, domain_key, spelling,
        sessions, resolved, escalated, guided, exploring, discovery,
        resolution_count, resolution_minutes, rating_sum, rating_count,
        linked, doc_pushed, time_logged)
    SELECT m.account_id, l.level, m.dayn >> l.level, m.domain_key, m.spelling,
           0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, sum(m.doc_pushed), sum(m.time_logged)
    FROM moved m CROSS JOIN generate_series(0, 9) AS l(level)
    GROUP BY 1, 2, 3, 4, 5
    HAVING sum(m.doc_pushed) <> 0 OR sum(m.time_logged) <> 0
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (account_id, level, block, domain_key, spelling) DO UPDATE
    SET doc_pushed = r.doc_pushed + excluded.doc_pushed,
        time_logged = r.time_logged + excluded.time_logged
    ;

    -- 4, 5. Notes and time entries per session.
    WITH zones AS MATERIALIZED (SELECT a.id, public.rollup_zone(a.timezone) AS zone
        FROM public.accounts a
        WHERE a.id IN (SELECT src.account_id
            FROM (SELECT -1 AS sign, o.* FROM old_rows o) AS src)),
    acts AS (
        SELECT c.sign, c.account_id, c.session_id, c.activity_type, c.hours_logged,
               (c.created_at AT TIME ZONE z.zone)::date AS day
        FROM (SELECT -1 AS sign, o.* FROM old_rows o) c
        JOIN zones z ON z.id = c.account_id
    )
    INSERT INTO public.rollup_session_pushes AS r (account_id, session_id, notes, time_entries)
    SELECT
        a.account_id,
        a.session_id,
        sum(a.sign * (a.activity_type = 'note_posted')::int) AS notes,
        sum(a.sign * (a.activity_type = 'time_entry_posted')::int) AS time_entries
    FROM acts a
    WHERE a.session_id IS NOT NULL
    GROUP BY 1, 2
    -- Keys whose signed sums all cancel out change nothing: not written.
    HAVING sum(a.sign * (a.activity_type = 'note_posted')::int) <> 0
        OR sum(a.sign * (a.activity_type = 'time_entry_posted')::int) <> 0
    -- Key order, so concurrent statements lock the rows in the same order.
    ORDER BY 1, 2
    ON CONFLICT (account_id, session_id) DO UPDATE
    SET notes = r.notes + excluded.notes,
        time_entries = r.time_entries + excluded.time_entries;

    WITH zones AS MATERIALIZED (SELECT a.id, public.rollup_zone(a.timezone) AS zone
        FROM public.accounts a
        WHERE a.id IN (SELECT src.account_id
            FROM (SELECT -1 AS sign, o.* FROM old_rows o) AS src)),
    acts AS (
        SELECT c.sign, c.account_id, c.session_id, c.activity_type, c.hours_logged,
               (c.created_at AT TIME ZONE z.zone)::date AS day
        FROM (SELECT -1 AS sign, o.* FROM old_rows o) c
        JOIN zones z ON z.id = c.account_id
    )
    DELETE FROM public.rollup_session_pushes r
    USING acts a
    WHERE r.account_id = a.account_id
      AND r.session_id = a.session_id
      AND r.notes = 0
      AND r.time_entries = 0;

    -- 6-10. Time-entry chains: off as they stood, time sessions updated, back on.
    WITH zones AS MATERIALIZED (SELECT a.id, public.rollup_zone(a.timezone) AS zone
        FROM public.accounts a
        WHERE a.id IN (SELECT src.account_id
            FROM (SELECT -1 AS sign, o.* FROM old_rows o) AS src)),
    acts AS (
        SELECT c.sign, c.account_id, c.session_id, c.activity_type, c.hours_logged,
               (c.created_at AT TIME ZONE z.zone)::date AS day
        FROM (SELECT -1 AS sign, o.* FROM old_rows o) c
        JOIN zones z ON z.id = c.account_id
    )
    -- The touched sessions' chains before the change, taken off.
    INSERT INTO public.rollup_psa_time_chains AS r (account_id, day, prev_day, sessions)
    SELECT c.account_id, c.day, c.prev_day, -count(*)
    FROM (
        -- Each time-entry day of a touched session, with the one before it.
        SELECT t.account_id, t.day,
               coalesce(lag(t.day) OVER (PARTITION BY t.account_id, t.session_id ORDER BY t.day),
                        DATE '-infinity') AS prev_day
        FROM public.rollup_psa_time_sessions t
        JOIN (SELECT DISTINCT account_id, session_id FROM acts
              WHERE session_id IS NOT NULL AND activity_type = 'time_entry_posted') x
          ON x.account_id = t.account_id AND x.session_id = t.session_id
    ) c
    GROUP BY 1, 2, 3
    ORDER BY 1, 2, 3
    ON CONFLICT (account_id, day, prev_day) DO UPDATE
    SET sessions = r.sessions + excluded.sessions;

    WITH zones AS MATERIALIZED (SELECT a.id, public.rollup_zone(a.timezone) AS zone
        FROM public.accounts a
        WHERE a.id IN (SELECT src.account_id
            FROM (SELECT -1 AS sign, o.* FROM old_rows o) AS src)),
    acts AS (
        SELECT c.sign, c.account_id, c.session_id, c.activity_type, c.hours_logged,
               (c.created_at AT TIME ZONE z.zone)::date AS day
        FROM (SELECT -1 AS sign, o.* FROM old_rows o) c
        JOIN zones z ON z.id = c.account_id
    )
    INSERT INTO public.rollup_psa_time_sessions AS r (account_id, session_id, day, entries)
    SELECT a.account_id, a.session_id, a.day, sum(a.sign) AS entries
    FROM acts a
    WHERE a.session_id IS NOT NULL AND a.activity_type = 'time_entry_posted'
    GROUP BY 1, 2, 3
    HAVING sum(a.sign) <> 0
    ORDER BY 1, 2, 3
    ON CONFLICT (account_id, session_id, day) DO UPDATE
    SET entries = r.entries + excluded.entries;

    WITH zones AS MATERIALIZED (SELECT a.id, public.rollup_zone(a.timezone) AS zone
        FROM public.accounts a
        WHERE a.id IN (SELECT src.account_id
            FROM (SELECT -1 AS sign, o.* FROM old_rows o) AS src)),
    acts AS (
        SELECT c.sign, c.account_id, c.session_id, c.activity_type, c.hours_logged,
               (c.created_at AT TIME ZONE z.zone)::date AS day
        FROM (SELECT -1 AS sign, o.* FROM old_rows o) c
        JOIN zones z ON z.id = c.account_id
    )
    DELETE FROM public.rollup_psa_time_sessions r
    USING acts a
    WHERE r.account_id = a.account_id
      AND r.session_id = a.session_id
      AND r.day = a.day
      AND r.entries = 0;

    WITH zones AS MATERIALIZED (SELECT a.id, public.rollup_zone(a.timezone) AS zone
        FROM public.accounts a
        WHERE a.id IN (SELECT src.account_id
            FROM (SELECT -1 AS sign, o.* FROM old_rows o) AS src)),
    acts AS (
        SELECT c.sign, c.account_id, c.session_id, c.activity_type, c.hours_logged,
               (c.created_at AT TIME ZONE z.zone)::date AS day
        FROM (SELECT -1 AS sign, o.* FROM old_rows o) c
        JOIN zones z ON z.id = c.account_id
    )
    -- The same sessions' chains as they now stand, put back.
    INSERT INTO public.rollup_psa_time_chains AS r (account_id, day, prev_day, sessions)
    SELECT c.account_id, c.day, c.prev_day, count(*)
    FROM (
        -- Each time-entry day of a touched session, with the one before it.
        SELECT t.account_id, t.day,
               coalesce(lag(t.day) OVER (PARTITION BY t.account_id, t.session_id ORDER BY t.day),
                        DATE '-infinity') AS prev_day
        FROM public.rollup_psa_time_sessions t
        JOIN (SELECT DISTINCT account_id, session_id FROM acts
              WHERE session_id IS NOT NULL AND activity_type = 'time_entry_posted') x
          ON x.account_id = t.account_id AND x.session_id = t.session_id
    ) c
    GROUP BY 1, 2, 3
    ORDER BY 1, 2, 3
    ON CONFLICT (account_id, day, prev_day) DO UPDATE
    SET sessions = r.sessions + excluded.sessions;

    WITH zones AS MATERIALIZED (SELECT a.id, public.rollup_zone(a.timezone) AS zone
        FROM public.accounts a
        WHERE a.id IN (SELECT src.account_id
            FROM (SELECT -1 AS sign, o.* FROM old_rows o) AS src)),
    acts AS (
        SELECT c.sign, c.account_id, c.session_id, c.activity_type, c.hours_logged,
               (c.created_at AT TIME ZONE z.zone)::date AS day
        FROM (SELECT -1 AS sign, o.* FROM old_rows o) c
        JOIN zones z ON z.id = c.account_id
    )
    DELETE FROM public.rollup_psa_time_chains r
    WHERE r.account_id IN (SELECT account_id FROM acts) AND r.sessions = 0;

    RETURN NULL;
END
$fn$;

-- A new time zone rebuilds the account's rollups.
CREATE OR REPLACE FUNCTION public.rollup_accounts_timezone()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
  PERFORM public.rollups_rebuild_account(NEW.id);
  RETURN NULL;
END
$fn$;

-- An account's data version, the epoch and its time zone in one round trip (0008).
-- Invoker, no SET clause: a cache hit's only SQL, run as the API's role with its rights;
-- every name is qualified, so nothing else on the caller's search_path is reached.
CREATE OR REPLACE FUNCTION public.flowpilot_data_state(target uuid)
 RETURNS TABLE(version bigint, epoch uuid, timezone text)
 LANGUAGE plpgsql
AS $fn$
BEGIN
  PERFORM pg_catalog.set_config('app.current_account_id', target::text, true);
  RETURN QUERY
    SELECT coalesce((SELECT v.version FROM public.account_data_versions v
                     WHERE v.account_id = target), 0::bigint),
           (SELECT e.epoch FROM public.data_version_epoch e LIMIT 1),
           a.timezone
    FROM public.accounts a WHERE a.id = target;
END
$fn$;

-- The data-version triggers (0008): one upsert per statement, as definer.
CREATE OR REPLACE FUNCTION public.data_version_ai_sessions_insert()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
INSERT INTO public.account_data_versions AS v (account_id, version) SELECT t.id, nextval('public.data_version_seq'::regclass) FROM (SELECT DISTINCT account_id AS id FROM (SELECT account_id FROM new_rows) u) t ORDER BY t.id ON CONFLICT (account_id) DO UPDATE SET version = excluded.version;
RETURN NULL;
END
$fn$;
CREATE OR REPLACE FUNCTION public.data_version_ai_sessions_update()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
INSERT INTO public.account_data_versions AS v (account_id, version) SELECT t.id, nextval('public.data_version_seq'::regclass) FROM (SELECT DISTINCT account_id AS id FROM (SELECT account_id FROM new_rows UNION SELECT account_id FROM old_rows) u) t ORDER BY t.id ON CONFLICT (account_id) DO UPDATE SET version = excluded.version;
RETURN NULL;
END
$fn$;
CREATE OR REPLACE FUNCTION public.data_version_ai_sessions_delete()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
INSERT INTO public.account_data_versions AS v (account_id, version) SELECT t.id, nextval('public.data_version_seq'::regclass) FROM (SELECT DISTINCT account_id AS id FROM (SELECT account_id FROM old_rows) u) t ORDER BY t.id ON CONFLICT (account_id) DO UPDATE SET version = excluded.version;
RETURN NULL;
END
$fn$;
CREATE OR REPLACE FUNCTION public.data_version_psa_activity_log_insert()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
INSERT INTO public.account_data_versions AS v (account_id, version) SELECT t.id, nextval('public.data_version_seq'::regclass) FROM (SELECT DISTINCT account_id AS id FROM (SELECT account_id FROM new_rows) u) t ORDER BY t.id ON CONFLICT (account_id) DO UPDATE SET version = excluded.version;
RETURN NULL;
END
$fn$;
CREATE OR REPLACE FUNCTION public.data_version_psa_activity_log_update()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
INSERT INTO public.account_data_versions AS v (account_id, version) SELECT t.id, nextval('public.data_version_seq'::regclass) FROM (SELECT DISTINCT account_id AS id FROM (SELECT account_id FROM new_rows UNION SELECT account_id FROM old_rows) u) t ORDER BY t.id ON CONFLICT (account_id) DO UPDATE SET version = excluded.version;
RETURN NULL;
END
$fn$;
CREATE OR REPLACE FUNCTION public.data_version_psa_activity_log_delete()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
INSERT INTO public.account_data_versions AS v (account_id, version) SELECT t.id, nextval('public.data_version_seq'::regclass) FROM (SELECT DISTINCT account_id AS id FROM (SELECT account_id FROM old_rows) u) t ORDER BY t.id ON CONFLICT (account_id) DO UPDATE SET version = excluded.version;
RETURN NULL;
END
$fn$;
CREATE OR REPLACE FUNCTION public.data_version_trees_insert()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
INSERT INTO public.account_data_versions AS v (account_id, version) SELECT t.id, nextval('public.data_version_seq'::regclass) FROM (SELECT DISTINCT account_id AS id FROM (SELECT account_id FROM new_rows) u) t ORDER BY t.id ON CONFLICT (account_id) DO UPDATE SET version = excluded.version;
RETURN NULL;
END
$fn$;
CREATE OR REPLACE FUNCTION public.data_version_trees_update()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
INSERT INTO public.account_data_versions AS v (account_id, version) SELECT t.id, nextval('public.data_version_seq'::regclass) FROM (SELECT DISTINCT account_id AS id FROM (SELECT account_id FROM new_rows UNION SELECT account_id FROM old_rows) u) t ORDER BY t.id ON CONFLICT (account_id) DO UPDATE SET version = excluded.version;
RETURN NULL;
END
$fn$;
CREATE OR REPLACE FUNCTION public.data_version_trees_delete()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
INSERT INTO public.account_data_versions AS v (account_id, version) SELECT t.id, nextval('public.data_version_seq'::regclass) FROM (SELECT DISTINCT account_id AS id FROM (SELECT account_id FROM old_rows) u) t ORDER BY t.id ON CONFLICT (account_id) DO UPDATE SET version = excluded.version;
RETURN NULL;
END
$fn$;
CREATE OR REPLACE FUNCTION public.data_version_accounts_insert()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
INSERT INTO public.account_data_versions AS v (account_id, version) SELECT t.id, nextval('public.data_version_seq'::regclass) FROM (SELECT DISTINCT id AS id FROM (SELECT id FROM new_rows) u) t ORDER BY t.id ON CONFLICT (account_id) DO UPDATE SET version = excluded.version;
RETURN NULL;
END
$fn$;
CREATE OR REPLACE FUNCTION public.data_version_accounts_update()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
INSERT INTO public.account_data_versions AS v (account_id, version) SELECT t.id, nextval('public.data_version_seq'::regclass) FROM (SELECT DISTINCT id AS id FROM (SELECT id FROM new_rows UNION SELECT id FROM old_rows) u) t ORDER BY t.id ON CONFLICT (account_id) DO UPDATE SET version = excluded.version;
RETURN NULL;
END
$fn$;
CREATE OR REPLACE FUNCTION public.data_version_accounts_delete()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
INSERT INTO public.account_data_versions AS v (account_id, version) SELECT t.id, nextval('public.data_version_seq'::regclass) FROM (SELECT DISTINCT id AS id FROM (SELECT id FROM old_rows) u) t ORDER BY t.id ON CONFLICT (account_id) DO UPDATE SET version = excluded.version;
RETURN NULL;
END
$fn$;
