-- 0011_rollups_built_in_chunks: the build state, the fence the triggers take, and the
-- functions that start a build and build one chunk of it. Run by
-- 0011_rollups_built_in_chunks.py (which also derives the trigger bodies and the chunk
-- bodies from the trigger functions the database holds), one statement at a time.
--
-- A row's key is its session: ai_sessions.id, psa_activity_log.session_id (the zero uuid
-- for activity without a session). Every rollup row is a sum over keys, so "the rollups of
-- the keys up to W" is well defined. While an account is built, rollup_builds holds W
-- (`built_through`, NULL before the first chunk); with no row the account is complete.

-- Accounts whose rollups are being built, and how far. Row-level security is enabled but
-- not forced: the API's role sees its bound account's row, while the triggers (which run
-- as the owner, whatever the writer's binding) must see every build, since a build they
-- missed would be counted twice without any error.
CREATE TABLE public.rollup_builds (
    account_id UUID PRIMARY KEY,
    built_through UUID
);
ALTER TABLE public.rollup_builds ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON public.rollup_builds
    USING (account_id = current_setting('app.current_account_id', true)::uuid)
    WITH CHECK (account_id = current_setting('app.current_account_id', true)::uuid);

-- Taken by every rollup trigger before it reads the build state: a shared transaction
-- lock per touched account (in id order), which a chunk's exclusive one excludes, and a
-- share lock on the accounts' build rows, so a REPEATABLE READ or SERIALIZABLE writer whose
-- snapshot predates a chunk gets a serialization failure instead of a stale watermark.
CREATE FUNCTION public.rollup_build_fence(touched uuid[]) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    account uuid;
BEGIN
    FOR account IN SELECT DISTINCT t.id FROM pg_catalog.unnest(touched) AS t(id) ORDER BY t.id
    LOOP
        PERFORM pg_catalog.pg_advisory_xact_lock_shared(
            1383099500, pg_catalog.hashtext(account::text));
    END LOOP;
    PERFORM 1 FROM public.rollup_builds b
    WHERE b.account_id = ANY (touched)
    ORDER BY b.account_id
    FOR SHARE;
END
$fn$;
REVOKE EXECUTE ON FUNCTION public.rollup_build_fence(uuid[]) FROM PUBLIC;

-- Gives account `target` a new data version (0008), first thing in a start or a chunk:
-- cached answers end with the transaction that changes the rollups, and the version row
-- is locked before the account's exclusive lock, in the order every writer takes them
-- (its data-version trigger fires before its rollup trigger), so the two never deadlock.
-- A REPEATABLE READ or SERIALIZABLE writer whose snapshot predates the start or chunk
-- then fails its own version update with a serialization failure, instead of counting
-- its rows against a build it cannot see. Bound to `target` by the caller.
CREATE FUNCTION public.rollup_build_version(target uuid) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $fn$
    INSERT INTO public.account_data_versions AS v (account_id, version)
    VALUES (target, pg_catalog.nextval('public.data_version_seq'))
    ON CONFLICT (account_id) DO UPDATE SET version = excluded.version
$fn$;

-- Starts (or restarts) building account `target` from nothing, in the caller's
-- transaction: waits for the account's writers in flight (exclusive lock), marks it built
-- through no key, and empties the rollups summed over many sessions. The per-session rows
-- (pushes, time entries per day) are replaced chunk by chunk.
CREATE FUNCTION public.rollup_build_start(target uuid) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    previous text := pg_catalog.current_setting('app.current_account_id', true);
BEGIN
    PERFORM pg_catalog.set_config('app.current_account_id', target::text, true);
    PERFORM public.rollup_build_version(target);
    PERFORM pg_catalog.pg_advisory_xact_lock(1383099500, pg_catalog.hashtext(target::text));
    INSERT INTO public.rollup_builds AS b (account_id, built_through)
    VALUES (target, NULL)
    ON CONFLICT (account_id) DO UPDATE SET built_through = NULL;
    DELETE FROM public.rollup_session_blocks WHERE account_id = target;
    DELETE FROM public.rollup_flow_blocks WHERE account_id = target;
    DELETE FROM public.rollup_psa_days WHERE account_id = target;
    DELETE FROM public.rollup_psa_time_chains WHERE account_id = target;
    PERFORM pg_catalog.set_config('app.current_account_id', coalesce(previous, ''), true);
END
$fn$;

-- Builds the next chunk of account `target`: the keys above its watermark up to the
-- `chunk`-th session id (all of them when fewer are left), in the caller's transaction.
-- Under the account's exclusive lock it moves the watermark, drops the chunk's stale
-- per-session rows and adds the chunk's sessions, then its PSA activity, exactly as the
-- insert triggers would add them. Returns true when the account is complete (then its
-- build row is gone and the triggers count every row again). It runs as its owner: the
-- background job that finishes a build started by a time-zone change runs as the API's
-- role, which may not write the rollups; a step only ever recomputes what the raw rows say.
CREATE FUNCTION public.rollup_build_step(target uuid, chunk integer) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_custom_plan
AS $fn$
DECLARE
    previous text := pg_catalog.current_setting('app.current_account_id', true);
    lo uuid;
    hi uuid;
BEGIN
    IF chunk IS NULL OR chunk < 1 THEN
        RAISE EXCEPTION 'rollup chunk size must be at least 1, got %', chunk
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM pg_catalog.set_config('app.current_account_id', target::text, true);
    PERFORM public.rollup_build_version(target);
    PERFORM pg_catalog.pg_advisory_xact_lock(1383099500, pg_catalog.hashtext(target::text));
    SELECT b.built_through INTO lo FROM public.rollup_builds b
    WHERE b.account_id = target FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM pg_catalog.set_config('app.current_account_id', coalesce(previous, ''), true);
        RETURN true;
    END IF;
    SELECT s.id INTO hi FROM public.ai_sessions s
    WHERE s.account_id = target AND (lo IS NULL OR s.id > lo)
    ORDER BY s.id OFFSET chunk - 1 LIMIT 1;
    IF hi IS NULL THEN
        DELETE FROM public.rollup_builds WHERE account_id = target;
    ELSE
        UPDATE public.rollup_builds SET built_through = hi WHERE account_id = target;
    END IF;
    DELETE FROM public.rollup_session_pushes r
    WHERE r.account_id = target
      AND (lo IS NULL OR r.session_id > lo) AND (hi IS NULL OR r.session_id <= hi);
    DELETE FROM public.rollup_psa_time_sessions r
    WHERE r.account_id = target
      AND (lo IS NULL OR r.session_id > lo) AND (hi IS NULL OR r.session_id <= hi);
    PERFORM public.rollup_build_sessions(target, lo, hi);
    PERFORM public.rollup_build_activity(target, lo, hi);
    PERFORM pg_catalog.set_config('app.current_account_id', coalesce(previous, ''), true);
    RETURN hi IS NULL;
END
$fn$;

-- The accounts being built, for the background job that finishes them (it runs as the
-- API's role, which sees one account at a time).
CREATE FUNCTION public.rollup_building_account_ids() RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
    SELECT b.account_id FROM public.rollup_builds b ORDER BY b.account_id
$fn$;
REVOKE EXECUTE ON FUNCTION public.rollup_building_account_ids() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION public.rollup_build_step(uuid, integer) FROM PUBLIC;
