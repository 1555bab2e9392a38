//! The Twilio operations the emulator serves, and which one a request asks for.

use axum::http::Method;

use crate::accounts::ACCOUNTS_PATH;
use crate::simulation::MediaKind;

/// The two kinds of credential under `/v1/Credentials`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum CredentialKind {
    Aws,
    PublicKey,
}

impl CredentialKind {
    pub fn collection_path(self) -> &'static str {
        match self {
            Self::Aws => "/v1/Credentials/AWS",
            Self::PublicKey => "/v1/Credentials/PublicKeys",
        }
    }

    fn instance_path_template(self) -> &'static str {
        match self {
            Self::Aws => "/v1/Credentials/AWS/{Sid}",
            Self::PublicKey => "/v1/Credentials/PublicKeys/{Sid}",
        }
    }
}

/// The two storage settings singletons of Video v1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum SettingsKind {
    Recordings,
    Compositions,
}

impl SettingsKind {
    pub fn path(self) -> &'static str {
        match self {
            Self::Recordings => "/v1/RecordingSettings/Default",
            Self::Compositions => "/v1/CompositionSettings/Default",
        }
    }

    /// The plural noun in messages and in the write test's object name.
    pub fn noun(self) -> &'static str {
        match self {
            Self::Recordings => "recordings",
            Self::Compositions => "compositions",
        }
    }
}

impl MediaKind {
    /// Video v1's list of this kind.
    pub fn collection_path(self) -> &'static str {
        match self {
            Self::Recording => "/v1/Recordings",
            Self::Composition => "/v1/Compositions",
        }
    }

    fn instance_path_template(self) -> &'static str {
        match self {
            Self::Recording => "/v1/Recordings/{Sid}",
            Self::Composition => "/v1/Compositions/{Sid}",
        }
    }
}

/// Monitor v1's alerts.
pub(crate) const ALERTS_PATH: &str = "/v1/Alerts";

/// One account of the 2010 API.
const ACCOUNT_PATH_TEMPLATE: &str = "/2010-04-01/Accounts/{Sid}.json";

/// One operation of the OpenAPI documents, with its path parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Operation {
    ListCredentials(CredentialKind),
    CreateCredential(CredentialKind),
    FetchCredential(CredentialKind, String),
    UpdateCredential(CredentialKind, String),
    DeleteCredential(CredentialKind, String),
    FetchSettings(SettingsKind),
    UpdateSettings(SettingsKind),
    ListMedia(MediaKind),
    FetchMedia(MediaKind, String),
    ListAlerts,
    FetchAlert(String),
    ListAccounts,
    CreateAccount,
    FetchAccount(String),
    UpdateAccount(String),
}

/// Why a request names no operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RouteError {
    NotFound,
    MethodNotAllowed,
}

/// A resource path of the APIs, before its method is considered.
enum Resource<'a> {
    Credentials(CredentialKind),
    Credential(CredentialKind, &'a str),
    Settings(SettingsKind),
    MediaList(MediaKind),
    Media(MediaKind, &'a str),
    Alerts,
    Alert(&'a str),
    Accounts,
    Account(&'a str),
}

impl Operation {
    /// Every operation the emulator serves, as `(method, path template)`.
    pub const SERVED: [(Method, &'static str); 24] = [
        (Method::GET, "/v1/Credentials/AWS"),
        (Method::POST, "/v1/Credentials/AWS"),
        (Method::GET, "/v1/Credentials/AWS/{Sid}"),
        (Method::POST, "/v1/Credentials/AWS/{Sid}"),
        (Method::DELETE, "/v1/Credentials/AWS/{Sid}"),
        (Method::GET, "/v1/Credentials/PublicKeys"),
        (Method::POST, "/v1/Credentials/PublicKeys"),
        (Method::GET, "/v1/Credentials/PublicKeys/{Sid}"),
        (Method::POST, "/v1/Credentials/PublicKeys/{Sid}"),
        (Method::DELETE, "/v1/Credentials/PublicKeys/{Sid}"),
        (Method::GET, "/v1/RecordingSettings/Default"),
        (Method::POST, "/v1/RecordingSettings/Default"),
        (Method::GET, "/v1/CompositionSettings/Default"),
        (Method::POST, "/v1/CompositionSettings/Default"),
        (Method::GET, "/v1/Recordings"),
        (Method::GET, "/v1/Recordings/{Sid}"),
        (Method::GET, "/v1/Compositions"),
        (Method::GET, "/v1/Compositions/{Sid}"),
        (Method::GET, "/v1/Alerts"),
        (Method::GET, "/v1/Alerts/{Sid}"),
        (Method::GET, ACCOUNTS_PATH),
        (Method::POST, ACCOUNTS_PATH),
        (Method::GET, ACCOUNT_PATH_TEMPLATE),
        (Method::POST, ACCOUNT_PATH_TEMPLATE),
    ];

    /// The operation `method path` asks for.
    pub fn route(method: &Method, path: &str) -> Result<Self, RouteError> {
        let segments: Vec<&str> = path.split('/').skip(1).collect();
        let resource = match segments.as_slice() {
            ["v1", "Credentials", "AWS"] => Resource::Credentials(CredentialKind::Aws),
            ["v1", "Credentials", "PublicKeys"] => Resource::Credentials(CredentialKind::PublicKey),
            ["v1", "Credentials", "AWS", sid] => Resource::Credential(CredentialKind::Aws, sid),
            ["v1", "Credentials", "PublicKeys", sid] => Resource::Credential(CredentialKind::PublicKey, sid),
            ["v1", "RecordingSettings", "Default"] => Resource::Settings(SettingsKind::Recordings),
            ["v1", "CompositionSettings", "Default"] => Resource::Settings(SettingsKind::Compositions),
            ["v1", "Recordings"] => Resource::MediaList(MediaKind::Recording),
            ["v1", "Compositions"] => Resource::MediaList(MediaKind::Composition),
            ["v1", "Recordings", sid] => Resource::Media(MediaKind::Recording, sid),
            ["v1", "Compositions", sid] => Resource::Media(MediaKind::Composition, sid),
            ["v1", "Alerts"] => Resource::Alerts,
            ["v1", "Alerts", sid] => Resource::Alert(sid),
            ["2010-04-01", "Accounts.json"] => Resource::Accounts,
            // The 2010 API answers XML without the `.json`; the emulator serves JSON only.
            ["2010-04-01", "Accounts", file] => match file.strip_suffix(".json") {
                Some(sid) => Resource::Account(sid),
                None => return Err(RouteError::NotFound),
            },
            _ => return Err(RouteError::NotFound),
        };
        let operation = match (resource, method.as_str()) {
            (Resource::Credentials(kind), "GET") => Self::ListCredentials(kind),
            (Resource::Credentials(kind), "POST") => Self::CreateCredential(kind),
            (Resource::Credential(kind, sid), "GET") => Self::FetchCredential(kind, sid.to_owned()),
            (Resource::Credential(kind, sid), "POST") => Self::UpdateCredential(kind, sid.to_owned()),
            (Resource::Credential(kind, sid), "DELETE") => Self::DeleteCredential(kind, sid.to_owned()),
            (Resource::Settings(kind), "GET") => Self::FetchSettings(kind),
            (Resource::Settings(kind), "POST") => Self::UpdateSettings(kind),
            (Resource::MediaList(kind), "GET") => Self::ListMedia(kind),
            (Resource::Media(kind, sid), "GET") => Self::FetchMedia(kind, sid.to_owned()),
            (Resource::Alerts, "GET") => Self::ListAlerts,
            (Resource::Alert(sid), "GET") => Self::FetchAlert(sid.to_owned()),
            (Resource::Accounts, "GET") => Self::ListAccounts,
            (Resource::Accounts, "POST") => Self::CreateAccount,
            (Resource::Account(sid), "GET") => Self::FetchAccount(sid.to_owned()),
            (Resource::Account(sid), "POST") => Self::UpdateAccount(sid.to_owned()),
            _ => return Err(RouteError::MethodNotAllowed),
        };
        Ok(operation)
    }

    /// The path template of this operation in the OpenAPI documents.
    pub fn path_template(&self) -> &'static str {
        match self {
            Self::ListCredentials(kind) | Self::CreateCredential(kind) => kind.collection_path(),
            Self::FetchCredential(kind, _) | Self::UpdateCredential(kind, _) | Self::DeleteCredential(kind, _) => {
                kind.instance_path_template()
            }
            Self::FetchSettings(kind) | Self::UpdateSettings(kind) => kind.path(),
            Self::ListMedia(kind) => kind.collection_path(),
            Self::FetchMedia(kind, _) => kind.instance_path_template(),
            Self::ListAlerts => ALERTS_PATH,
            Self::FetchAlert(_) => "/v1/Alerts/{Sid}",
            Self::ListAccounts | Self::CreateAccount => ACCOUNTS_PATH,
            Self::FetchAccount(_) | Self::UpdateAccount(_) => ACCOUNT_PATH_TEMPLATE,
        }
    }

    pub fn method(&self) -> Method {
        match self {
            Self::ListCredentials(_)
            | Self::FetchCredential(..)
            | Self::FetchSettings(_)
            | Self::ListMedia(_)
            | Self::FetchMedia(..)
            | Self::ListAlerts
            | Self::FetchAlert(_)
            | Self::ListAccounts
            | Self::FetchAccount(_) => Method::GET,
            Self::CreateCredential(_)
            | Self::UpdateCredential(..)
            | Self::UpdateSettings(_)
            | Self::CreateAccount
            | Self::UpdateAccount(_) => Method::POST,
            Self::DeleteCredential(..) => Method::DELETE,
        }
    }

    /// The path parameters, by their OpenAPI names.
    pub fn path_parameters(&self) -> Vec<(String, String)> {
        match self {
            Self::FetchCredential(_, sid)
            | Self::UpdateCredential(_, sid)
            | Self::DeleteCredential(_, sid)
            | Self::FetchMedia(_, sid)
            | Self::FetchAlert(sid)
            | Self::FetchAccount(sid)
            | Self::UpdateAccount(sid) => vec![("Sid".to_owned(), sid.clone())],
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_every_served_operation_back_to_its_template() {
        for (method, template) in &Operation::SERVED {
            let path = template.replace("{Sid}", "CR00000000000000000000000000000000");
            let operation = Operation::route(method, &path).unwrap();
            assert_eq!(operation.path_template(), *template);
            assert_eq!(operation.method(), method);
        }
    }

    #[test]
    fn unknown_paths_and_methods_are_told_apart() {
        assert_eq!(Operation::route(&Method::GET, "/v1/Credentials"), Err(RouteError::NotFound));
        assert_eq!(
            Operation::route(&Method::DELETE, "/v1/RecordingSettings/Default"),
            Err(RouteError::MethodNotAllowed)
        );
        assert_eq!(Operation::route(&Method::GET, "/v1/Credentials/AWS/CR1/extra"), Err(RouteError::NotFound));
        // The documents have these, the emulator does not serve them.
        assert_eq!(Operation::route(&Method::DELETE, "/v1/Recordings/RT1"), Err(RouteError::MethodNotAllowed));
        assert_eq!(Operation::route(&Method::POST, "/v1/Compositions"), Err(RouteError::MethodNotAllowed));
        assert_eq!(Operation::route(&Method::GET, "/v1/Recordings/RT1/Media"), Err(RouteError::NotFound));
        assert_eq!(Operation::route(&Method::GET, "/v1/Events"), Err(RouteError::NotFound));
        // The 2010 API: JSON only, and only the Accounts resource itself.
        let account = "AC0123456789abcdef0123456789abcdef";
        assert_eq!(
            Operation::route(&Method::GET, &format!("/2010-04-01/Accounts/{account}.json")),
            Ok(Operation::FetchAccount(account.to_owned()))
        );
        assert_eq!(Operation::route(&Method::GET, "/2010-04-01/Accounts"), Err(RouteError::NotFound));
        assert_eq!(
            Operation::route(&Method::GET, &format!("/2010-04-01/Accounts/{account}")),
            Err(RouteError::NotFound)
        );
        let calls = format!("/2010-04-01/Accounts/{account}/Calls.json");
        assert_eq!(Operation::route(&Method::GET, &calls), Err(RouteError::NotFound));
        assert_eq!(Operation::route(&Method::DELETE, "/2010-04-01/Accounts.json"), Err(RouteError::MethodNotAllowed));
    }

    #[test]
    fn instance_operations_carry_their_sid() {
        let operation = Operation::route(&Method::DELETE, "/v1/Credentials/PublicKeys/CRabc").unwrap();
        assert_eq!(operation.path_parameters(), [("Sid".to_owned(), "CRabc".to_owned())]);
    }
}
