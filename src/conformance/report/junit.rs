//! `junit.xml`: one `<testsuite>` per suite, one `<testcase>` per case the
//! suite lists (so a case of two suites appears in both, as in the suite
//! table); the `<testsuites>` element counts distinct cases, as the totals
//! do everywhere ([`super::COUNTING_RULE`]). `time` attributes are seconds.

use std::fmt::Write as _;

use super::{seconds, Report};
use crate::conformance::compare::{CaseResult, Status};

pub(super) fn render(r: &Report, results: &[CaseResult], suites: &[(String, bool, Vec<usize>)]) -> String {
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let t = &r.totals;
    let total_time: f64 = results.iter().map(|c| seconds(c.time_us)).sum();
    let _ = writeln!(
        s,
        "<testsuites name=\"czip-conformance {}\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" time=\"{total_time:.6}\">",
        xml(&r.implementation),
        t.cases,
        t.fail,
        t.unsupported + t.skipped
    );
    let _ = writeln!(s, "  <!-- counting: {} -->", xml(r.counting));
    for (name, _, idx) in suites {
        let sum = r.suites.iter().find(|x| &x.name == name);
        let (f, sk) = sum.map_or((0, 0), |x| (x.fail, x.unsupported + x.skipped));
        let time: f64 = idx.iter().map(|&i| seconds(results[i].time_us)).sum();
        let _ = writeln!(
            s,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{f}\" skipped=\"{sk}\" time=\"{time:.6}\">",
            xml(name),
            idx.len()
        );
        for &i in idx {
            let c = &results[i];
            let _ = write!(s, "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.6}\"", xml(name), xml(&c.id), seconds(c.time_us));
            match c.status {
                Status::Pass => s.push_str("/>\n"),
                Status::Fail => {
                    // The failure's cause (report `causes`) as JUnit's failure type.
                    let cause = r.failures.iter().find(|f| f.case.id == c.id).map_or("unexplained", |f| f.cause.label());
                    let _ = writeln!(s, "><failure type=\"{}\" message=\"{}\"/></testcase>", xml(cause), xml(&c.message));
                }
                Status::Unsupported | Status::Skipped => {
                    let _ = writeln!(s, "><skipped message=\"{}: {}\"/></testcase>", c.status.word(), xml(&c.message));
                }
            }
        }
        s.push_str("  </testsuite>\n");
    }
    s.push_str("</testsuites>\n");
    s
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace("--", "-&#45;")
}
