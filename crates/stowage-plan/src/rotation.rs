//! How old each object that rotates is (an access key), and when the spec's rotation period
//! makes a plan replace it: what `drift` and `verify` report beside their findings.
//!
//! Pure: the caller passes the time, as it passes it to the planner ([`crate::PlanInputs`]).
//! The age and the period are the planner's own ([`age_in_days`], [`rotation_period`]), so what
//! is reported here is what the next plan acts on.

use std::fmt::Write as _;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use stowage_provider::{Address, Observed};

use crate::model::DesiredResource;
use crate::planner::{Observations, age_in_days, created_at, rotation_period};

/// How old one object that rotates is, and when its rotation is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyAge {
    pub address: Address,
    /// The object's id (an access key's id).
    pub id: String,
    /// Whole days since it was made, as the planner counts them.
    pub age_days: u64,
    /// The spec's rotation period in days (`rotate_after_days`), if it sets one.
    pub after_days: Option<u64>,
    /// The day (UTC) the period ends: the creation time plus `after_days` days of 24 hours. A
    /// plan made from that moment on replaces the object. `None` without a period.
    pub due: Option<Date>,
}

impl KeyAge {
    /// Whether a plan made now replaces it: it is as old as the period, or older.
    pub fn overdue(&self) -> bool {
        self.after_days.is_some_and(|after_days| self.age_days >= after_days)
    }

    /// Whole days until a plan replaces it (0 when it is overdue): the rotation comes within
    /// this many days. `None` without a period.
    pub fn days_left(&self) -> Option<u64> {
        self.after_days.map(|after_days| after_days.saturating_sub(self.age_days))
    }

    /// One sentence for people: its noun, id, age, and the next rotation (or that none is set).
    pub fn describe(&self) -> String {
        let schema = self.address.resource_type.schema();
        let mut out = format!("{} `{}` is {}", schema.noun, self.id, days(self.age_days));
        let _ = match (self.after_days, self.due) {
            (Some(after_days), due) if self.overdue() => write!(
                out,
                " old; its rotation was due {} (every {}): the next apply replaces it",
                on(due),
                days(after_days)
            ),
            (Some(after_days), due) => write!(out, " old; next rotation {} (every {})", on(due), days(after_days)),
            (None, _) => {
                let setting = schema.rotation.map_or("a rotation period", |rotation| rotation.after_days);
                write!(out, " old; it is not rotated on a schedule (no `{setting}` is set)")
            }
        };
        out
    }
}

fn days(count: u64) -> String {
    format!("{count} {}", if count == 1 { "day" } else { "days" })
}

fn on(due: Option<Date>) -> String {
    due.map_or_else(|| "at a date too far to tell".to_owned(), |due| format!("on {due}"))
}

/// For each desired resource whose type rotates and whose object was found with its creation
/// time, in the order of `desired`: how old it is at `now`, and when it is due.
pub fn key_ages(desired: &[DesiredResource], observed: &Observations, now: Timestamp) -> Vec<KeyAge> {
    desired
        .iter()
        .filter_map(|resource| {
            let found = observed.get(&resource.address).and_then(Option::as_ref)?;
            let age_days = age_in_days(resource, found, now)?;
            let after_days = rotation_period(resource);
            let due = after_days.and_then(|after_days| due_date(resource, found, after_days));
            Some(KeyAge { address: resource.address.clone(), id: found.id.clone(), age_days, after_days, due })
        })
        .collect()
}

/// The creation time plus `after_days` days of 24 hours (the planner's days), as a UTC date.
fn due_date(resource: &DesiredResource, found: &Observed, after_days: u64) -> Option<Date> {
    let created = created_at(resource, found)?;
    let period = SignedDuration::from_hours(i64::try_from(after_days).ok()?.checked_mul(24)?);
    Some(created.checked_add(period).ok()?.to_zoned(TimeZone::UTC).date())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;
    use stowage_provider::Attributes;

    use super::*;
    use crate::desired::{access_key_address, bucket_address};
    use crate::model::DesiredValue;

    const KEY_ID: &str = "AKIAEXAMPLEEXAMPLE12";
    /// The key was made at 14:30 UTC: its due date is the date of the same time `after_days`
    /// later, whatever the time of day of the plan.
    const CREATED: &str = "2026-01-01T14:30:00Z";

    fn key(rotate_after_days: Option<u64>) -> DesiredResource {
        let mut attributes = BTreeMap::from([("status".to_owned(), DesiredValue::Known(json!("Active")))]);
        if let Some(days) = rotate_after_days {
            attributes.insert("rotate_after_days".to_owned(), DesiredValue::Known(json!(days)));
        }
        DesiredResource { address: access_key_address(), attributes, depends_on: Vec::new() }
    }

    fn found(attributes: serde_json::Value) -> Option<Observed> {
        let attributes: Attributes = serde_json::from_value(attributes).unwrap();
        Some(Observed { id: KEY_ID.to_owned(), attributes })
    }

    fn observed() -> Observations {
        Observations::from([
            (access_key_address(), found(json!({"status": "Active", "created_at": CREATED}))),
            (bucket_address(), found(json!({"name": "b"}))),
        ])
    }

    /// `days` days and `hours` hours after the key was made.
    fn after(days: i64, hours: i64) -> Timestamp {
        let created: Timestamp = CREATED.parse().unwrap();
        created + SignedDuration::from_hours(days * 24 + hours)
    }

    fn date(text: &str) -> Option<Date> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn without_a_period_the_age_is_told_and_nothing_is_due() {
        for age in [89, 90, 91] {
            let ages = key_ages(&[key(None)], &observed(), after(age, 3));
            let expected = KeyAge {
                address: access_key_address(),
                id: KEY_ID.to_owned(),
                age_days: age.unsigned_abs(),
                after_days: None,
                due: None,
            };
            assert_eq!(ages, vec![expected.clone()], "{age} days");
            assert!(!expected.overdue());
            assert_eq!(expected.days_left(), None);
        }
        let ages = key_ages(&[key(None)], &observed(), after(91, 0));
        insta::assert_snapshot!(ages[0].describe(), @"access key `AKIAEXAMPLEEXAMPLE12` is 91 days old; it is not rotated on a schedule (no `rotate_after_days` is set)");
    }

    #[test]
    fn with_a_period_the_due_date_is_the_creation_time_plus_the_period() {
        // (age in days, days left, overdue): due on the 90th day, as the planner replaces it.
        for (age, left, overdue) in [(89, 1, false), (90, 0, true), (91, 0, true)] {
            let ages = key_ages(&[key(Some(90))], &observed(), after(age, 23));
            assert_eq!(ages.len(), 1);
            let key_age = &ages[0];
            assert_eq!((key_age.age_days, key_age.after_days), (age.unsigned_abs(), Some(90)), "{age} days");
            // 2026-01-01 14:30 plus 90 days of 24 hours: 2026-04-01 14:30.
            assert_eq!(key_age.due, date("2026-04-01"), "{age} days");
            assert_eq!((key_age.days_left(), key_age.overdue()), (Some(left), overdue), "{age} days");
        }
        let describe = |age| key_ages(&[key(Some(90))], &observed(), after(age, 0))[0].describe();
        insta::assert_snapshot!(describe(89), @"access key `AKIAEXAMPLEEXAMPLE12` is 89 days old; next rotation on 2026-04-01 (every 90 days)");
        insta::assert_snapshot!(describe(91), @"access key `AKIAEXAMPLEEXAMPLE12` is 91 days old; its rotation was due on 2026-04-01 (every 90 days): the next apply replaces it");
    }

    #[test]
    fn a_day_is_24_hours_as_the_planner_counts_it() {
        // One second short of 90 days is 89 days: not yet due.
        let almost = key_ages(&[key(Some(90))], &observed(), after(90, 0) - SignedDuration::from_secs(1));
        assert_eq!((almost[0].age_days, almost[0].days_left(), almost[0].overdue()), (89, Some(1), false));
        let due = key_ages(&[key(Some(90))], &observed(), after(90, 0));
        assert_eq!((due[0].age_days, due[0].days_left(), due[0].overdue()), (90, Some(0), true));
    }

    #[test]
    fn what_does_not_rotate_or_was_not_found_or_has_no_creation_time_has_no_age() {
        let bucket = DesiredResource { address: bucket_address(), attributes: BTreeMap::new(), depends_on: Vec::new() };
        assert_eq!(key_ages(&[bucket], &observed(), after(10, 0)), vec![]);
        let mut observations = observed();
        observations.insert(access_key_address(), None);
        assert_eq!(key_ages(&[key(Some(90))], &observations, after(10, 0)), vec![]);
        observations.insert(access_key_address(), found(json!({"status": "Active"})));
        assert_eq!(key_ages(&[key(Some(90))], &observations, after(10, 0)), vec![]);
        assert_eq!(key_ages(&[key(Some(90))], &Observations::new(), after(10, 0)), vec![]);
    }

    #[test]
    fn one_day_is_singular_and_a_new_key_is_zero_days_old() {
        let describe = |age, hours| key_ages(&[key(Some(1))], &observed(), after(age, hours))[0].describe();
        insta::assert_snapshot!(describe(0, 5), @"access key `AKIAEXAMPLEEXAMPLE12` is 0 days old; next rotation on 2026-01-02 (every 1 day)");
        insta::assert_snapshot!(describe(1, 0), @"access key `AKIAEXAMPLEEXAMPLE12` is 1 day old; its rotation was due on 2026-01-02 (every 1 day): the next apply replaces it");
    }
}
