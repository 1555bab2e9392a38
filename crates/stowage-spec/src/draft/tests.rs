use super::*;
use crate::LifecycleRule;

const SCHEMA: &str = "../docs/stowage-spec.schema.json";
const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
const ARN: &str = "arn:aws:kms:us-east-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const DEV_TOML: &str = include_str!("../../../../examples/dev.toml");

fn dev(encryption: Option<Encryption>) -> Draft {
    Draft::new_environment(
        SCHEMA.to_owned(),
        EnvironmentName::new("dev").unwrap(),
        Region::new("us-east-2").unwrap(),
        BucketName::new("acme-video-dev").unwrap(),
        AccountSid::new(ACCOUNT).unwrap(),
        encryption,
    )
}

fn user(name: &str, path: &str, why: Option<&str>) -> UploaderUser {
    UploaderUser {
        user_name: IamUserName::new(name).unwrap(),
        path: IamPath::new(path).unwrap(),
        why: why.map(str::to_owned),
    }
}

/// What the guide made, as `--from-existing` finds it: versioning and public access block off,
/// no tags, no lifecycle, the one user whose managed policy allows the upload.
fn existing(uploader: UploaderDraft, notes: &[&str]) -> Draft {
    Draft {
        origin: Origin::Existing,
        bucket: BucketSpec { versioning: false, block_public_access: false, tags: BTreeMap::new(), ..dev(None).bucket },
        uploader,
        recordings: StorageDraft { comment: None, ..dev(None).recordings },
        notes: notes.iter().map(|note| (*note).to_owned()).collect(),
        ..dev(None)
    }
}

fn rendered(draft: &Draft) -> String {
    match draft.render_checked("dev.toml") {
        Ok((text, _)) => text,
        Err(errors) => panic!("the draft does not validate: {errors:?}\n{}", draft.render()),
    }
}

#[test]
fn plain_init_renders_a_commented_spec() {
    insta::assert_snapshot!(rendered(&dev(None)));
}

#[test]
fn plain_init_is_examples_dev_toml_but_for_its_team_tag_and_lifecycle_rules() {
    let (_, ours) = dev(None).render_checked("dev.toml").unwrap();
    let theirs = crate::parse("dev.toml", DEV_TOML).unwrap();
    let (ours, theirs) = (ours.spec, theirs.spec);
    assert_eq!(ours.environment, theirs.environment);
    assert_eq!(ours.aws, theirs.aws);
    assert_eq!(ours.twilio, theirs.twilio);
    assert_eq!(ours.fleet, theirs.fleet);
    assert_eq!(ours.uploader, theirs.uploader);
    assert_eq!(ours.recordings, theirs.recordings);
    assert_eq!(ours.compositions, theirs.compositions);
    assert_eq!(ours.drift, theirs.drift);
    assert_eq!(ours.state, theirs.state);
    // The differences, on purpose: a team tag init cannot know, and expiry rules that delete
    // recordings, which init only suggests in comments.
    let bucket = |bucket: &crate::BucketSpec| crate::BucketSpec {
        tags: BTreeMap::new(),
        lifecycle: Vec::new(),
        ..bucket.clone()
    };
    assert_eq!(bucket(&ours.bucket), bucket(&theirs.bucket));
    assert_eq!(ours.bucket.tags, BTreeMap::from([("env".to_owned(), "dev".to_owned())]));
    assert_eq!(theirs.bucket.tags.get("env").map(String::as_str), Some("dev"));
    assert!(ours.bucket.lifecycle.is_empty());
    assert_eq!(theirs.bucket.lifecycle.len(), 2);
}

#[test]
fn kms_create_renders_the_key_stowage_makes() {
    let text = rendered(&dev(Some(Encryption::KmsCreate)));
    insta::assert_snapshot!(text);
    let spec = crate::parse("dev.toml", &text).unwrap().spec;
    assert_eq!(spec.bucket.encryption, Some(Encryption::KmsCreate));
}

#[test]
fn kms_arn_renders_the_key_used_not_managed() {
    let text = rendered(&dev(Some(Encryption::new(ARN).unwrap())));
    insta::assert_snapshot!(text);
    let spec = crate::parse("dev.toml", &text).unwrap().spec;
    assert_eq!(spec.bucket.encryption, Some(Encryption::new(ARN).unwrap()));
}

#[test]
fn existing_with_one_user_its_rules_tags_and_key() {
    let mut draft = existing(
        UploaderDraft::Found(user(
            "twilio-video-uploader-dev",
            "/twilio/",
            Some("allowed by managed policy `stowage-twilio-video-upload`; 1 access key"),
        )),
        &[],
    );
    draft.bucket.tags =
        BTreeMap::from([("cost center".to_owned(), "video:42".to_owned()), ("team".to_owned(), "video".to_owned())]);
    draft.bucket.lifecycle = vec![LifecycleRule { prefix: Prefix::new("recordings/").unwrap(), expire_after_days: 30 }];
    draft.bucket.encryption = Some(Encryption::new(ARN).unwrap());
    let text = rendered(&draft);
    insta::assert_snapshot!(text);
    let spec = crate::parse("dev.toml", &text).unwrap().spec;
    assert_eq!(spec.bucket.tags.get("cost center").map(String::as_str), Some("video:42"));
    assert_eq!(spec.bucket.lifecycle.len(), 1);
    assert!(!spec.bucket.versioning && !spec.bucket.block_public_access);
}

#[test]
fn existing_with_no_user_names_stowages_own_and_says_so() {
    let draft = existing(
        UploaderDraft::NoneFound(user("twilio-video-uploader-dev", "/twilio/", None)),
        &["could not determine the uploader: no IAM user's policies allow `s3:PutObject` under `recordings/`"],
    );
    let text = rendered(&draft);
    insta::assert_snapshot!(text);
    assert!(text.contains("# To check"), "{text}");
}

#[test]
fn existing_with_several_users_chooses_one_and_lists_the_others() {
    let draft = existing(
        UploaderDraft::Several {
            chosen: user("alice-uploader", "/", Some("allowed by inline policy `put`; 1 access key")),
            others: vec![user(
                "bob-uploader",
                "/people/",
                Some("allowed by managed policy `AmazonS3FullAccess`; no access key"),
            )],
        },
        &["2 IAM users may write where Twilio stores: `alice-uploader` was chosen (it has an access key)"],
    );
    let text = rendered(&draft);
    insta::assert_snapshot!(text);
    let spec = crate::parse("dev.toml", &text).unwrap().spec;
    assert_eq!(spec.uploader.map(|uploader| uploader.user_name.to_string()).as_deref(), Some("alice-uploader"));
}

#[test]
fn existing_with_compositions_off_and_notes() {
    let mut draft = existing(
        UploaderDraft::Found(user("twilio-video-uploader-dev", "/twilio/", None)),
        &[
            "could not determine the bucket's tags: AccessDenied (GetBucketTagging)",
            "the lifecycle rule `archive` is not representable (a transition, not an expiry): apply would remove it",
        ],
    );
    draft.compositions.store_in_s3 = false;
    draft.compositions.comment = Some("Twilio's composition settings do not store in S3 now.".to_owned());
    insta::assert_snapshot!(rendered(&draft));
}

#[test]
fn a_draft_that_does_not_validate_is_refused_with_the_specs_own_errors() {
    // A dotted bucket name: valid for S3, but Twilio can never store into it.
    let mut draft = dev(None);
    draft.bucket.name = BucketName::new("acme.video.dev").unwrap();
    let Err(errors) = draft.render_checked("dev.toml") else { panic!("a bucket Twilio cannot write to validated") };
    assert!(format!("{errors:?}").contains("acme.video.dev"), "{errors:?}");
}

#[test]
fn every_string_is_escaped() {
    let mut draft = dev(None);
    draft.bucket.tags = BTreeMap::from([("team \"a\"".to_owned(), "x\\y".to_owned())]);
    let text = draft.render();
    assert!(text.contains(r#"tags = { "team \"a\"" = "x\\y" }"#) || text.contains(r#"'team "a"'"#), "{text}");
}
