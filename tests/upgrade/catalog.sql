-- The whole catalog of the varel_session extension, one line per fact, in a stable order:
-- every member object with its definition, privileges and comment. The upgrade test runs it on
-- a freshly created database and on one upgraded from an older version; the outputs must be
-- identical.
WITH ext AS (
    SELECT oid, extconfig, extcondition, extversion FROM pg_extension WHERE extname = 'varel_session'
), members AS (
    SELECT d.classid, d.objid
    FROM pg_depend d, ext
    WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'
), facts AS (
    SELECT 'extension' AS object, 'version ' || extversion AS fact FROM ext
    UNION ALL
    SELECT 'extension', 'dumped table ' || c::regclass::text
    FROM ext, unnest(ext.extconfig) AS c
    UNION ALL
    -- Functions and procedures: the full definition (arguments, defaults, result, language,
    -- volatility, parallel safety, security, settings, body), privileges and comment.
    SELECT pg_describe_object(m.classid, m.objid, 0),
           pg_get_functiondef(p.oid) || E'\nacl ' || coalesce(p.proacl::text, '-')
           || E'\ncomment ' || coalesce(obj_description(p.oid, 'pg_proc'), '-')
    FROM members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
    UNION ALL
    -- Schemas.
    SELECT pg_describe_object(m.classid, m.objid, 0),
           'acl ' || coalesce(n.nspacl::text, '-') || ' comment ' || coalesce(obj_description(n.oid, 'pg_namespace'), '-')
    FROM members m JOIN pg_namespace n ON m.classid = 'pg_namespace'::regclass AND n.oid = m.objid
    UNION ALL
    -- Tables, composite types' relations, indexes: kind, storage parameters, privileges,
    -- persistence, replica identity, comment.
    SELECT 'relation ' || c.oid::regclass::text,
           format('kind %s options %s acl %s persistence %s identity %s comment %s',
                  c.relkind, c.reloptions, c.relacl, c.relpersistence, c.relreplident,
                  coalesce(obj_description(c.oid, 'pg_class'), '-'))
    FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
    UNION ALL
    -- Columns of those relations (and of composite types), in order.
    SELECT 'relation ' || c.oid::regclass::text,
           format('column %s %s %s not null %s default %s comment %s', a.attnum, a.attname,
                  format_type(a.atttypid, a.atttypmod), a.attnotnull,
                  pg_get_expr(d.adbin, d.adrelid), col_description(c.oid, a.attnum))
    FROM pg_class c
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
    WHERE c.relnamespace = 'varel_session'::regnamespace
    UNION ALL
    SELECT 'relation ' || i.indrelid::regclass::text, 'index ' || pg_get_indexdef(i.indexrelid)
    FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
    WHERE c.relnamespace = 'varel_session'::regnamespace
    UNION ALL
    SELECT 'relation ' || co.conrelid::regclass::text,
           format('constraint %s %s', co.conname, pg_get_constraintdef(co.oid))
    FROM pg_constraint co WHERE co.connamespace = 'varel_session'::regnamespace
    UNION ALL
    SELECT 'relation ' || t.tgrelid::regclass::text, 'trigger ' || pg_get_triggerdef(t.oid)
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
    WHERE c.relnamespace = 'varel_session'::regnamespace AND NOT t.tgisinternal
    UNION ALL
    -- Types.
    SELECT pg_describe_object(m.classid, m.objid, 0),
           format('type %s acl %s comment %s', format_type(t.oid, NULL), t.typacl,
                  coalesce(obj_description(t.oid, 'pg_type'), '-'))
    FROM members m JOIN pg_type t ON m.classid = 'pg_type'::regclass AND t.oid = m.objid
    UNION ALL
    -- Anything else that belongs to the extension, by name.
    SELECT pg_describe_object(m.classid, m.objid, 0), 'member'
    FROM members m
    WHERE m.classid NOT IN ('pg_proc'::regclass, 'pg_namespace'::regclass,
                            'pg_class'::regclass, 'pg_type'::regclass)
)
SELECT object || ': ' || fact FROM facts ORDER BY object, fact;
