//! Properties of IAM policy comparison: [`policy::canonical`] is idempotent, and
//! [`policy::same_meaning`] ignores what IAM ignores (statement and list order, duplicates, a
//! single value versus a list of one, statement ids, action case, URL-encoding) but not a
//! change of what is granted.
//!
//! A generated [`PolicyModel`] says what a policy means; [`Presentation`] writes it one of the
//! many ways IAM and people do.

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use stowage_provider::policy;

/// Each property runs this many cases: well under a second each.
const CASES: u32 = 256;

/// What a policy means: its statements, each list as a set.
#[derive(Debug, Clone)]
struct PolicyModel {
    id: Option<String>,
    statements: Vec<StatementModel>,
}

#[derive(Debug, Clone)]
struct StatementModel {
    sid: Option<String>,
    effect: &'static str,
    /// `NotAction` rather than `Action`.
    not_action: bool,
    actions: Vec<String>,
    /// `NotResource` rather than `Resource`.
    not_resource: bool,
    resources: Vec<String>,
    principals: Option<Vec<String>>,
    source_accounts: Option<Vec<String>>,
}

/// How a model is written down, driven by a seed so that two presentations of one model can
/// differ in every way at once. `splitmix64`: small, and the same on every platform.
#[derive(Debug)]
struct Presentation {
    state: u64,
    /// Whether action names are written in random case.
    mixed_case_actions: bool,
    /// Whether statement ids are replaced by others.
    relabel: bool,
}

impl Presentation {
    fn new(seed: u64) -> Self {
        Self { state: seed, mixed_case_actions: false, relabel: false }
    }

    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn coin(&mut self) -> bool {
        self.next() & 1 == 1
    }

    fn below(&mut self, bound: usize) -> usize {
        usize::try_from(self.next() % bound as u64).expect("below a usize bound")
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for index in (1..items.len()).rev() {
            let other = self.below(index + 1);
            items.swap(index, other);
        }
    }

    /// A set of strings: shuffled, perhaps with a duplicate, and a single value when it has
    /// one element and the coin says so.
    fn set(&mut self, items: &[String]) -> Value {
        let mut items = items.to_vec();
        if !items.is_empty() && self.coin() {
            let duplicate = items[self.below(items.len())].clone();
            items.push(duplicate);
        }
        self.shuffle(&mut items);
        if items.len() == 1 && self.coin() {
            Value::String(items.remove(0))
        } else {
            Value::Array(items.into_iter().map(Value::String).collect())
        }
    }

    fn action(&mut self, action: &str) -> String {
        if !self.mixed_case_actions {
            return action.to_owned();
        }
        action
            .chars()
            .map(|character| if self.coin() { character.to_ascii_uppercase() } else { character.to_ascii_lowercase() })
            .collect()
    }

    fn document(&mut self, model: &PolicyModel) -> Value {
        let mut statements: Vec<Value> = model.statements.iter().map(|statement| self.statement(statement)).collect();
        self.shuffle(&mut statements);
        let statements =
            if statements.len() == 1 && self.coin() { statements.remove(0) } else { Value::Array(statements) };
        // Key order is presentation too: IAM returns its own.
        let mut entries = vec![("Version", json!("2012-10-17")), ("Statement", statements)];
        if let Some(id) = &model.id {
            entries.push(("Id", json!(id)));
        }
        self.shuffle(&mut entries);
        Value::Object(entries.into_iter().map(|(key, value)| (key.to_owned(), value)).collect())
    }

    fn statement(&mut self, model: &StatementModel) -> Value {
        let actions: Vec<String> = model.actions.iter().map(|action| self.action(action)).collect();
        let mut entries = vec![
            ("Effect", json!(model.effect)),
            (if model.not_action { "NotAction" } else { "Action" }, self.set(&actions)),
            (if model.not_resource { "NotResource" } else { "Resource" }, self.set(&model.resources)),
        ];
        let sid = if self.relabel { Some(format!("Relabelled{}", self.below(1000))) } else { model.sid.clone() };
        if let Some(sid) = sid {
            entries.push(("Sid", json!(sid)));
        }
        if let Some(principals) = &model.principals {
            entries.push(("Principal", json!({ "AWS": self.set(principals) })));
        }
        if let Some(accounts) = &model.source_accounts {
            entries.push(("Condition", json!({ "StringEquals": { "aws:SourceAccount": self.set(accounts) } })));
        }
        self.shuffle(&mut entries);
        Value::Object(entries.into_iter().map(|(key, value)| (key.to_owned(), value)).collect())
    }
}

fn statement() -> impl Strategy<Value = StatementModel> {
    let actions = proptest::collection::vec("(s3|iam|kms):[A-Z][a-zA-Z]{0,10}", 1..4);
    let resources = proptest::collection::vec(
        prop_oneof![Just("*".to_owned()), "arn:aws:s3:::[a-z0-9.-]{3,8}(/[a-zA-Z0-9]{0,6})?\\*?"],
        1..4,
    );
    let accounts = proptest::collection::vec("[0-9]{12}", 1..3);
    let principals = accounts.clone().prop_map(|accounts| {
        accounts.into_iter().map(|account| format!("arn:aws:iam::{account}:root")).collect::<Vec<_>>()
    });
    (
        proptest::option::of("[A-Za-z0-9]{1,8}"),
        prop_oneof![Just("Allow"), Just("Deny")],
        (any::<bool>(), actions),
        (any::<bool>(), resources),
        proptest::option::of(principals),
        proptest::option::of(accounts),
    )
        .prop_map(
            |(sid, effect, (not_action, actions), (not_resource, resources), principals, source_accounts)| {
                StatementModel {
                    sid,
                    effect,
                    not_action,
                    actions,
                    not_resource,
                    resources,
                    principals,
                    source_accounts,
                }
            },
        )
}

fn policy_model() -> impl Strategy<Value = PolicyModel> {
    (proptest::option::of("[A-Za-z0-9-]{1,12}"), proptest::collection::vec(statement(), 1..5))
        .prop_map(|(id, statements)| PolicyModel { id, statements })
}

/// Any JSON object, with the keys a policy uses more often than chance would: canonicalising
/// must be idempotent even for documents that are not policies.
fn arbitrary_document() -> impl Strategy<Value = Value> {
    let key = prop_oneof![select_key(), "[a-z]{1,3}"];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(|number| json!(number)),
        "[a-zA-Z:*/]{0,6}".prop_map(Value::String),
    ];
    let value = leaf.prop_recursive(4, 48, 5, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::vec((select_key(), inner), 0..5)
                .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<String, Value>>())),
        ]
    });
    proptest::collection::vec((key, value), 0..5)
        .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<String, Value>>()))
}

fn select_key() -> impl Strategy<Value = String> {
    proptest::sample::select(vec![
        "Version",
        "Id",
        "Statement",
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
        "AWS",
        "StringEquals",
    ])
    .prop_map(str::to_owned)
}

fn text(document: &Value) -> String {
    serde_json::to_string(document).expect("a JSON value serializes")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    /// Canonicalising a canonical document changes nothing, down to the bytes.
    #[test]
    fn canonical_is_idempotent(model in policy_model(), seed in any::<u64>()) {
        let document = Presentation::new(seed).document(&model);
        let once = policy::canonical(&document);
        let twice = policy::canonical(&once);
        prop_assert_eq!(text(&once), text(&twice), "from {}", text(&document));
    }

    /// Idempotent on any JSON object, policy or not.
    #[test]
    fn canonical_is_idempotent_on_any_document(document in arbitrary_document()) {
        let once = policy::canonical(&document);
        prop_assert_eq!(text(&once), text(&policy::canonical(&once)), "from {}", text(&document));
        prop_assert!(policy::same_meaning(&document, &once), "a document and its canonical form differ: {}", text(&document));
    }

    /// Order (of statements, keys and list items), duplicates and a single value versus a list
    /// of one are presentation: the canonical form is the same.
    #[test]
    fn canonical_ignores_presentation(model in policy_model(), first in any::<u64>(), second in any::<u64>()) {
        let one = Presentation::new(first).document(&model);
        let other = Presentation::new(second).document(&model);
        prop_assert_eq!(
            text(&policy::canonical(&one)),
            text(&policy::canonical(&other)),
            "two presentations of one policy:\n{}\n{}",
            text(&one),
            text(&other)
        );
    }

    /// On top of presentation, action case and statement ids do not change what a policy
    /// means either.
    #[test]
    fn same_meaning_ignores_action_case_and_statement_ids(
        model in policy_model(),
        first in any::<u64>(),
        second in any::<u64>(),
        relabel in any::<bool>(),
    ) {
        let one = Presentation::new(first).document(&model);
        let mut presentation = Presentation::new(second);
        presentation.mixed_case_actions = true;
        presentation.relabel = relabel;
        let other = presentation.document(&model);
        prop_assert!(policy::same_meaning(&one, &other), "two presentations of one policy:\n{}\n{}", text(&one), text(&other));
        prop_assert!(policy::same_meaning(&other, &one), "same_meaning is not symmetric:\n{}\n{}", text(&one), text(&other));
    }

    /// IAM returns documents URL-encoded; parsing undoes that exactly.
    #[test]
    fn url_encoded_documents_parse_to_the_same(model in policy_model(), seed in any::<u64>()) {
        let document = Presentation::new(seed).document(&model);
        let encoded = utf8_percent_encode(&text(&document), NON_ALPHANUMERIC).to_string();
        let parsed = policy::parse(&encoded).map_err(|error| TestCaseError::fail(format!("{error}: {encoded}")))?;
        prop_assert_eq!(text(&parsed), text(&document));
        prop_assert!(policy::same_meaning(&parsed, &document));
    }

    /// Granting one more action is a change, however the documents are written.
    #[test]
    fn another_action_is_a_change(model in policy_model(), first in any::<u64>(), second in any::<u64>()) {
        let one = Presentation::new(first).document(&model);
        let mut wider = model.clone();
        // No generated action contains a digit, so this one is new to every statement.
        for statement in &mut wider.statements {
            statement.actions.push("s3:Probe1".to_owned());
        }
        let other = Presentation::new(second).document(&wider);
        prop_assert!(!policy::same_meaning(&one, &other), "a wider policy means the same:\n{}\n{}", text(&one), text(&other));
    }
}
