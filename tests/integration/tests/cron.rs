//! The pg_cron job, for real: the test cluster preloads pg_cron (`cron.database_name =
//! 'varel_cron'`, background workers), the test schedules the cleanup every minute, and waits
//! for pg_cron to run it.

use std::time::{Duration, Instant};
use varel_session_integration::{connect, CRON_DB};

#[tokio::test]
async fn the_scheduled_job_removes_expired_sessions_and_keeps_live_ones() {
    let client = connect(CRON_DB).await;
    client
        .batch_execute(
            "SELECT varel_session.session_unschedule_cleanup();
             DELETE FROM varel_session.sessions;
             SELECT varel_session.session_new(data => jsonb_build_object('i', i))
             FROM generate_series(1, 200) AS i;
             UPDATE varel_session.sessions SET expires_at = now() - interval '1 second'
             WHERE (data ->> 'i')::int % 4 = 0;
             UPDATE varel_session.sessions SET absolute_expires_at = now() - interval '1 second'
             WHERE (data ->> 'i')::int % 4 = 1;",
        )
        .await
        .unwrap();

    // Scheduling twice updates one job instead of adding a second.
    let first: i64 = client
        .query_one(
            "SELECT varel_session.session_schedule_cleanup('*/5 * * * *')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let second: i64 = client
        .query_one(
            "SELECT varel_session.session_schedule_cleanup('* * * * *')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(first, second);
    let row = client
        .query_one(
            "SELECT count(*), min(schedule), min(command) FROM cron.job WHERE jobname = 'varel_session_cleanup'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 1);
    assert_eq!(row.get::<_, String>(1), "* * * * *");
    assert_eq!(
        row.get::<_, String>(2),
        "CALL varel_session.session_cleanup_run()"
    );

    // pg_cron's finest schedule is a minute: wait up to 80 seconds for a run.
    let started = Instant::now();
    let expired = loop {
        let expired: i64 = client
            .query_one(
                "SELECT count(*) FROM varel_session.sessions
                 WHERE expires_at <= now() OR absolute_expires_at <= now()",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if expired == 0 || started.elapsed() > Duration::from_secs(80) {
            break expired;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    eprintln!("the cron job cleaned up after {:?}", started.elapsed());
    assert_eq!(
        expired, 0,
        "the cron job did not remove the expired sessions in time"
    );
    let live: i64 = client
        .query_one("SELECT count(*) FROM varel_session.sessions", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(live, 100, "live sessions must stay");
    let succeeded: i64 = client
        .query_one(
            "SELECT count(*) FROM cron.job_run_details WHERE jobid = $1 AND status = 'succeeded'",
            &[&first],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        succeeded >= 1,
        "no successful run recorded in cron.job_run_details"
    );

    let removed: bool = client
        .query_one("SELECT varel_session.session_unschedule_cleanup()", &[])
        .await
        .unwrap()
        .get(0);
    let again: bool = client
        .query_one("SELECT varel_session.session_unschedule_cleanup()", &[])
        .await
        .unwrap()
        .get(0);
    assert!(removed && !again);
}
