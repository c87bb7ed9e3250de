//! The caller of a request and how a `Principal` or `NotPrincipal` block names it.
//!
//! A caller is known by several identities at once: an assumed-role session is the session
//! (`arn:aws:sts::A:assumed-role/R/S`), its role (`arn:aws:iam::A:role/…/R`, matched by account and
//! role name since the session ARN drops the role's path) and its account (`A`, or
//! `arn:aws:iam::A:root`). A `Principal` block names the caller when it lists any of them, and
//! says how: the caller itself ([`Grant::Direct`]), its role ([`Grant::Role`]) or only its account
//! ([`Grant::Account`], which delegates to the account's own policies). A `NotPrincipal` block
//! applies unless it lists every identity of the caller.
//!
//! Source: <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html>
//! and <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html>.

use std::fmt;

use crate::context::Context;
use crate::document::{PrincipalBlock, PrincipalType, Principals};

/// How a resource-based statement names the caller, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Grant {
    /// Only the caller's account (`"AWS": "111122223333"` or `…:root`): the account's own
    /// identity-based policies must allow as well.
    Account,
    /// The IAM role of a role session, or a role ARN given as the caller.
    Role,
    /// The caller itself: a role session ARN, an IAM user ARN, a service principal, or `*`.
    Direct,
}

/// What kind of principal the caller is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallerKind {
    /// The account itself (`111122223333` or `arn:aws:iam::111122223333:root`).
    Account,
    /// An IAM user.
    User,
    /// An IAM role, by name (the last segment of its path).
    Role { name: String },
    /// A session of an IAM role (`AssumeRole`, `AssumeRoleWithWebIdentity`: an IRSA pod).
    RoleSession { role_name: String },
    /// A federated user session (`GetFederationToken`).
    FederatedUser,
    /// An AWS service principal such as `ec2.amazonaws.com`.
    Service,
}

/// The principal that makes the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The ARN (or service name) as given.
    pub id: String,
    pub kind: CallerKind,
    /// The caller's account; `None` for a service principal.
    pub account: Option<String>,
    partition: String,
}

/// A caller id that is neither an account, an IAM or STS principal ARN, nor a service principal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{id}` is not a principal: {reason}")]
pub struct CallerError {
    pub id: String,
    pub reason: &'static str,
}

const CALLER_FORMS: &str = "expected an account id, arn:aws:iam::ACCOUNT:root|user/NAME|role/NAME, arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION|federated-user/NAME, or a service principal such as ec2.amazonaws.com";

impl Caller {
    /// Parses an account id, an IAM/STS principal ARN or a service principal.
    pub fn parse(id: &str) -> Result<Caller, CallerError> {
        let fail = |reason| CallerError {
            id: id.to_string(),
            reason,
        };
        if is_account_id(id) {
            return Ok(Caller::new(id, CallerKind::Account, Some(id), "aws"));
        }
        if !id.starts_with("arn:") {
            if id.ends_with(".amazonaws.com") || id.ends_with(".amazonaws.com.cn") {
                return Ok(Caller::new(id, CallerKind::Service, None, ""));
            }
            return Err(fail(CALLER_FORMS));
        }
        let parts: Vec<&str> = id.splitn(6, ':').collect();
        let [_, partition, service, _region, account, resource] = parts[..] else {
            return Err(fail(CALLER_FORMS));
        };
        if !is_account_id(account) {
            return Err(fail(
                "the account field of the ARN is not a 12-digit account id",
            ));
        }
        let kind = match (service, resource.split_once('/')) {
            ("iam", None) if resource == "root" => CallerKind::Account,
            ("iam", Some(("user", _))) => CallerKind::User,
            ("iam", Some(("role", path))) => CallerKind::Role {
                name: last_segment(path).to_string(),
            },
            ("sts", Some(("assumed-role", rest))) => match rest.split_once('/') {
                Some((role, session)) if !role.is_empty() && !session.is_empty() => {
                    CallerKind::RoleSession {
                        role_name: role.to_string(),
                    }
                }
                _ => {
                    return Err(fail(
                        "an assumed-role ARN ends in assumed-role/ROLE/SESSION",
                    ));
                }
            },
            ("sts", Some(("federated-user", _))) => CallerKind::FederatedUser,
            _ => return Err(fail(CALLER_FORMS)),
        };
        Ok(Caller::new(id, kind, Some(account), partition))
    }

    fn new(id: &str, kind: CallerKind, account: Option<&str>, partition: &str) -> Caller {
        Caller {
            id: id.to_string(),
            kind,
            account: account.map(str::to_string),
            partition: partition.to_string(),
        }
    }

    /// The ARN that `aws:PrincipalArn` carries: the role (not the session) for a role session,
    /// `arn:…:iam::A:root` for an account, the service name for a service.
    ///
    /// Source: <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn>.
    pub fn principal_arn(&self) -> String {
        match (&self.kind, &self.account) {
            (CallerKind::RoleSession { role_name }, Some(account)) => {
                format!("arn:{}:iam::{account}:role/{role_name}", self.partition)
            }
            (CallerKind::Account, Some(account)) => {
                format!("arn:{}:iam::{account}:root", self.partition)
            }
            _ => self.id.clone(),
        }
    }

    /// Adds the global keys that describe the caller (`aws:PrincipalArn`, `aws:PrincipalAccount`,
    /// `aws:PrincipalType`, `aws:PrincipalServiceName`) unless `context` already has them.
    pub fn fill_context(&self, context: &mut Context) {
        let mut fill = |key: &str, value: String| {
            if context.get(key).is_none() {
                context.insert(key, value);
            }
        };
        if self.kind == CallerKind::Service {
            fill("aws:PrincipalServiceName", self.id.clone());
            return;
        }
        fill("aws:PrincipalArn", self.principal_arn());
        if let Some(account) = &self.account {
            fill("aws:PrincipalAccount", account.clone());
        }
        let principal_type = match self.kind {
            CallerKind::Account => "Account",
            CallerKind::User => "User",
            CallerKind::Role { .. } | CallerKind::RoleSession { .. } => "AssumedRole",
            CallerKind::FederatedUser => "FederatedUser",
            CallerKind::Service => unreachable!("returned above"),
        };
        fill("aws:PrincipalType", principal_type.to_string());
    }

    /// How `block` names this caller: `None` when the statement does not apply to it.
    pub fn named_by(&self, block: &PrincipalBlock) -> Option<Grant> {
        let listed = self.listed(&block.principals);
        if block.negated {
            // NotPrincipal applies unless every identity of the caller is listed.
            return (listed != self.identities()).then_some(Grant::Direct);
        }
        [
            (OWN, Grant::Direct),
            (ROLE, Grant::Role),
            (ACCOUNT, Grant::Account),
        ]
        .into_iter()
        .find(|(bit, _)| listed & bit != 0)
        .map(|(_, grant)| grant)
    }

    /// The identities the caller is known by, as bits: [`OWN`] (a session, user, federated user
    /// or service: the exact ARN or name), [`ROLE`] (a role, or the role of a role session, matched
    /// by account and name whatever its path) and [`ACCOUNT`].
    fn identities(&self) -> u8 {
        match self.kind {
            CallerKind::Account => ACCOUNT,
            CallerKind::Role { .. } => ROLE | ACCOUNT,
            CallerKind::RoleSession { .. } => OWN | ROLE | ACCOUNT,
            CallerKind::User | CallerKind::FederatedUser => OWN | ACCOUNT,
            CallerKind::Service => OWN,
        }
    }

    /// The identities of the caller that `principals` lists.
    fn listed(&self, principals: &Principals) -> u8 {
        match principals {
            Principals::Any => self.identities(),
            Principals::Map(entries) => entries
                .iter()
                .flat_map(|(ty, ids)| ids.iter().map(move |id| self.entry_lists(*ty, id)))
                .fold(0, |all, bits| all | bits),
        }
    }

    /// The identities of the caller that one policy entry lists. `"*"` lists every identity of
    /// its type (`"AWS": "*"` every AWS principal).
    fn entry_lists(&self, ty: PrincipalType, entry: &str) -> u8 {
        let is_service = self.kind == CallerKind::Service;
        match ty {
            PrincipalType::Service
                if is_service && (entry == "*" || entry.eq_ignore_ascii_case(&self.id)) =>
            {
                OWN
            }
            PrincipalType::Aws if !is_service => self.aws_entry_lists(entry),
            _ => 0,
        }
    }

    fn aws_entry_lists(&self, entry: &str) -> u8 {
        if entry == "*" {
            return self.identities();
        }
        let account = self.account.as_deref().unwrap_or_default();
        if is_account_id(entry) || entry.ends_with(":root") {
            let named = if is_account_id(entry) {
                Some(entry)
            } else {
                root_account(entry)
            };
            return if named == Some(account) { ACCOUNT } else { 0 };
        }
        let role_name = match &self.kind {
            CallerKind::Role { name } => Some(name),
            CallerKind::RoleSession { role_name } => Some(role_name),
            _ => None,
        };
        if let Some(name) = role_name
            && role_of(entry) == Some((account, name.as_str()))
        {
            return ROLE;
        }
        if entry == self.id && self.identities() & OWN != 0 {
            return OWN;
        }
        0
    }
}

/// Identity bits of a caller (see [`Caller::identities`]).
const OWN: u8 = 1;
const ROLE: u8 = 2;
const ACCOUNT: u8 = 4;

impl fmt::Display for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.id)
    }
}

/// `A` of `arn:PARTITION:iam::A:root`.
fn root_account(entry: &str) -> Option<&str> {
    let rest = entry.strip_prefix("arn:")?;
    let (_partition, rest) = rest.split_once(':')?;
    let account = rest.strip_prefix("iam::")?.strip_suffix(":root")?;
    is_account_id(account).then_some(account)
}

/// (account, role name) of `arn:PARTITION:iam::A:role/PATH/NAME`.
fn role_of(entry: &str) -> Option<(&str, &str)> {
    let rest = entry.strip_prefix("arn:")?;
    let (_partition, rest) = rest.split_once(':')?;
    let (account, path) = rest.strip_prefix("iam::")?.split_once(":role/")?;
    Some((account, last_segment(path)))
}

fn last_segment(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

pub(crate) fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::PolicyDocument;

    const PRINCIPAL: &str = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html";

    fn block(principal: &str) -> PrincipalBlock {
        let doc = PolicyDocument::parse(&format!(
            r#"{{"Statement":{{"Effect":"Allow",{principal},"Action":"s3:*"}}}}"#
        ))
        .unwrap();
        doc.statements[0].principal.clone().unwrap()
    }

    fn session() -> Caller {
        Caller::parse("arn:aws:sts::111122223333:assumed-role/app/botocore-session-1").unwrap()
    }

    // The principal page: an account id and the account's root ARN name the account (every
    // principal of it, through delegation); a role ARN names the role and its sessions; an
    // assumed-role session ARN names that session.
    #[test]
    fn principal_names_a_session_by_session_role_or_account() {
        let caller = session();
        let cases = [
            (
                r#""Principal":{"AWS":"111122223333"}"#,
                Some(Grant::Account),
            ),
            (
                r#""Principal":{"AWS":"arn:aws:iam::111122223333:root"}"#,
                Some(Grant::Account),
            ),
            (
                r#""Principal":{"AWS":"arn:aws:iam::111122223333:role/team/app"}"#,
                Some(Grant::Role),
            ),
            (
                r#""Principal":{"AWS":"arn:aws:sts::111122223333:assumed-role/app/botocore-session-1"}"#,
                Some(Grant::Direct),
            ),
            (
                r#""Principal":{"AWS":["arn:aws:iam::111122223333:root","arn:aws:iam::111122223333:role/app"]}"#,
                Some(Grant::Role),
            ),
            (r#""Principal":"*""#, Some(Grant::Direct)),
            (r#""Principal":{"AWS":"*"}"#, Some(Grant::Direct)),
            (r#""Principal":{"AWS":"444455556666"}"#, None),
            (
                r#""Principal":{"AWS":"arn:aws:iam::444455556666:role/app"}"#,
                None,
            ),
            (
                r#""Principal":{"AWS":"arn:aws:iam::111122223333:role/other"}"#,
                None,
            ),
            (r#""Principal":{"Service":"ec2.amazonaws.com"}"#, None),
        ];
        for (principal, grant) in cases {
            assert_eq!(
                caller.named_by(&block(principal)),
                grant,
                "{principal} ({PRINCIPAL})"
            );
        }
    }

    // Service principals are named under "Service" only.
    #[test]
    fn service_principals() {
        let ec2 = Caller::parse("ec2.amazonaws.com").unwrap();
        assert_eq!(ec2.kind, CallerKind::Service);
        assert_eq!(
            ec2.named_by(&block(r#""Principal":{"Service":["ec2.amazonaws.com"]}"#)),
            Some(Grant::Direct)
        );
        assert_eq!(ec2.named_by(&block(r#""Principal":{"AWS":"*"}"#)), None);
        assert_eq!(
            ec2.named_by(&block(r#""Principal":"*""#)),
            Some(Grant::Direct)
        );
    }

    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html
    // With NotPrincipal, a role session is excluded only when the session, its role and its
    // account are all listed; otherwise the statement applies to it.
    #[test]
    fn not_principal_must_list_every_identity() {
        let caller = session();
        let partial = block(
            r#""NotPrincipal":{"AWS":["arn:aws:iam::111122223333:role/app","111122223333"]}"#,
        );
        assert_eq!(caller.named_by(&partial), Some(Grant::Direct));
        let all = block(
            r#""NotPrincipal":{"AWS":["arn:aws:sts::111122223333:assumed-role/app/botocore-session-1","arn:aws:iam::111122223333:role/app","arn:aws:iam::111122223333:root"]}"#,
        );
        assert_eq!(caller.named_by(&all), None);
    }

    #[test]
    fn parses_callers_and_fills_the_principal_keys() {
        let mut ctx = Context::new();
        session().fill_context(&mut ctx);
        assert_eq!(
            ctx.single("aws:PrincipalArn"),
            Some("arn:aws:iam::111122223333:role/app")
        );
        assert_eq!(ctx.single("aws:PrincipalAccount"), Some("111122223333"));
        assert_eq!(ctx.single("aws:PrincipalType"), Some("AssumedRole"));
        assert_eq!(
            Caller::parse("111122223333").unwrap().kind,
            CallerKind::Account
        );
        assert_eq!(
            Caller::parse("arn:aws:iam::111122223333:root")
                .unwrap()
                .kind,
            CallerKind::Account
        );
        assert_eq!(
            Caller::parse("arn:aws:iam::111122223333:user/ops/bob")
                .unwrap()
                .kind,
            CallerKind::User
        );
        for bad in [
            "bob",
            "arn:aws:s3:::bucket",
            "arn:aws:iam::12:role/x",
            "arn:aws:sts::111122223333:assumed-role/x",
        ] {
            assert!(Caller::parse(bad).is_err(), "{bad}");
        }
    }
}
