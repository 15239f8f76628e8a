-- The SQL edition's objects, found by schema (not by extension membership), one line per
-- fact in a stable order: scripts/test.sh compares a database where the edition was installed
-- by running varel_session_sql.sql with psql against one where it was created with
-- CREATE EXTENSION; the two must be identical.
SELECT 'function ' || p.oid::regprocedure::text || E'\n' || pg_get_functiondef(p.oid)
       || E'\nacl ' || coalesce(p.proacl::text, '-')
       || E'\ncomment ' || coalesce(obj_description(p.oid, 'pg_proc'), '-')
FROM pg_proc p
WHERE p.pronamespace IN ('varel_session'::regnamespace, 'varel_session_internal'::regnamespace)
UNION ALL
SELECT format('relation %s kind %s options %s acl %s comment %s', c.oid::regclass, c.relkind,
              c.reloptions, c.relacl, coalesce(obj_description(c.oid, 'pg_class'), '-'))
FROM pg_class c
WHERE c.relnamespace IN ('varel_session'::regnamespace, 'varel_session_internal'::regnamespace)
UNION ALL
SELECT format('column %s.%s %s %s not null %s default %s', c.oid::regclass, a.attnum,
              a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
              pg_get_expr(d.adbin, d.adrelid))
FROM pg_class c
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
WHERE c.relnamespace IN ('varel_session'::regnamespace, 'varel_session_internal'::regnamespace)
UNION ALL
SELECT 'index ' || pg_get_indexdef(i.indexrelid)
FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
WHERE c.relnamespace IN ('varel_session'::regnamespace, 'varel_session_internal'::regnamespace)
UNION ALL
SELECT format('constraint %s %s', co.conname, pg_get_constraintdef(co.oid))
FROM pg_constraint co
WHERE co.connamespace IN ('varel_session'::regnamespace, 'varel_session_internal'::regnamespace)
UNION ALL
SELECT 'trigger ' || pg_get_triggerdef(t.oid)
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
WHERE c.relnamespace = 'varel_session'::regnamespace AND NOT t.tgisinternal
UNION ALL
SELECT format('schema %s acl %s comment %s', n.nspname, n.nspacl,
              coalesce(obj_description(n.oid, 'pg_namespace'), '-'))
FROM pg_namespace n WHERE n.nspname IN ('varel_session', 'varel_session_internal')
ORDER BY 1;
