//! Printing a plan in the format asked for. Every format renders the same plan model.

use miette::Report;
use stowage_plan::Plan;
use stowage_plan::render::{HumanOptions, MarkdownOptions, human, json, markdown};
use stowage_provider::{Address, ProviderError, ProviderName};

use crate::cli::Format;

/// `options`: how people see it ([`crate::settings::Settings::human`]).
pub fn render(plan: &Plan, format: Format, options: HumanOptions) -> String {
    match format {
        Format::Human => human(plan, options),
        Format::Json => {
            let mut text = serde_json::to_string_pretty(&json(plan)).unwrap_or_default();
            text.push('\n');
            text
        }
        Format::Markdown => markdown(plan, MarkdownOptions::default()),
    }
}

/// Whether the person at the terminal answers `yes` to doing `what` (e.g. "perform these
/// actions"); without a terminal, the refusal says to pass `--auto-approve` to `command` after
/// reviewing `shown` (e.g. "the plan").
pub fn confirmed(what: &str, command: &str, shown: &str) -> Result<bool, Report> {
    use std::io::{BufRead, IsTerminal, Write};
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(miette::miette!(
            help = format!("pass `--auto-approve` to {command} without asking (e.g. in CI), after reviewing {shown}"),
            "standard input is not a terminal, so {command} cannot ask for confirmation"
        ));
    }
    eprint!("\nDo you want to {what}? Only `yes` is accepted: ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer).map_err(|error| miette::miette!("could not read the answer: {error}"))?;
    Ok(answer.trim() == "yes")
}

/// How many addresses a line that stands for many reads names before counting the rest.
const NAMED_IN_GROUP: usize = 5;

/// Each failed read on its own line, with its hint when `hints`. Reads of one provider that got
/// no answer for the same reason (every read against a dead endpoint) are said once, with how
/// many failed so and which: `could not connect to 127.0.0.1:1: connection refused (3 reads of
/// AWS failed the same way: aws_s3_bucket.main, ...)`.
pub fn failure_lines(failures: &[(Address, ProviderError)], hints: bool) -> String {
    let mut groups: Vec<(&ProviderError, Vec<&Address>)> = Vec::new();
    for (address, failure) in failures {
        let same = |(first, members): &&mut (&ProviderError, Vec<&Address>)| {
            failure.unanswered
                && first.unanswered
                && first.message == failure.message
                && members[0].resource_type.provider() == address.resource_type.provider()
        };
        match groups.iter_mut().find(|group| same(group)) {
            Some((_, members)) => members.push(address),
            None => groups.push((failure, vec![address])),
        }
    }
    let lines: Vec<String> = groups
        .into_iter()
        .map(|(failure, members)| {
            let hint = failure.hint.as_ref().filter(|_| hints).map(|hint| format!("\n    hint: {hint}"));
            let line = match members.as_slice() {
                [address] => format!("  {address}: {failure}"),
                _ => {
                    let provider = match members[0].resource_type.provider() {
                        ProviderName::Aws => "AWS",
                        ProviderName::Twilio => "Twilio",
                    };
                    let mut named: Vec<String> = members.iter().take(NAMED_IN_GROUP).map(ToString::to_string).collect();
                    if members.len() > NAMED_IN_GROUP {
                        named.push(format!("and {} more", members.len() - NAMED_IN_GROUP));
                    }
                    format!(
                        "  {} ({} reads of {provider} failed the same way: {})",
                        failure.message,
                        members.len(),
                        named.join(", ")
                    )
                }
            };
            format!("{line}{}", hint.unwrap_or_default())
        })
        .collect();
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use stowage_provider::network::{NetworkCause, NetworkFailure};
    use stowage_provider::{ErrorKind, ResourceType};

    use super::*;

    fn address(resource_type: ResourceType, name: &str) -> Address {
        Address::new(resource_type, name)
    }

    fn refused(service: &'static str, operation: &str) -> ProviderError {
        let failure = NetworkFailure { endpoint: "127.0.0.1:1".to_owned(), host: None, cause: NetworkCause::Refused };
        ProviderError::network(service, operation, &failure).with_hint("check `AWS_ENDPOINT_URL`")
    }

    #[test]
    fn reads_that_fail_the_same_way_are_said_once() {
        let mut failures = vec![
            (address(ResourceType::S3Bucket, "main"), refused("s3", "HeadBucket")),
            (address(ResourceType::IamUser, "uploader"), refused("iam", "GetUser")),
            (
                address(ResourceType::TwilioAwsCredential, "main"),
                ProviderError::new(ErrorKind::Unauthorized, "twilio", "FetchAwsCredential", "refused"),
            ),
        ];
        insta::assert_snapshot!(failure_lines(&failures, true), @r"
          could not connect to 127.0.0.1:1: connection refused (2 reads of AWS failed the same way: aws_s3_bucket.main, aws_iam_user.uploader)
            hint: check `AWS_ENDPOINT_URL`
          twilio_aws_credential.main: twilio FetchAwsCredential: access denied: refused
        ");
        failures.truncate(1);
        insta::assert_snapshot!(failure_lines(&failures, false), @"  aws_s3_bucket.main: s3 HeadBucket: could not connect to 127.0.0.1:1: connection refused");
    }
}
