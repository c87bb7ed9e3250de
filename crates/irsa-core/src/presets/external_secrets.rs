//! External Secrets Operator (`external-secrets/external-secrets`) reading AWS Secrets Manager
//! secrets and Systems Manager Parameter Store parameters into Kubernetes Secrets. Follows the
//! IAM policies in the operator's AWS provider docs
//! (<https://external-secrets.io/latest/provider/aws-secrets-manager/> and
//! `.../aws-parameter-store/`): read the secret's value, metadata, versions and resource policy;
//! read parameters. Access is scoped to the ARNs given in `secretArns` / `parameterArns`; at least
//! one is required, since a policy on every secret of the account is not a default irsa writes.
//! `kmsKeyArns` adds `kms:Decrypt` for secrets or SecureString parameters encrypted with a
//! customer managed key.

use serde_json::{Value, json};

use super::common::{ArnKind, one_document, reject_unknown_options, resource_arns};
use super::{Install, Preset, PresetError, PresetOption, PresetParams, PresetPolicies, Source};

pub(crate) const NAME: &str = "external-secrets";

const OPTIONS: &[PresetOption] = &[
    PresetOption {
        name: "secretArns",
        help: "list of Secrets Manager secret ARNs the operator may read; wildcards in the name are allowed \
               (arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/*; a secret's ARN ends in -<6 random characters>)",
    },
    PresetOption {
        name: "parameterArns",
        help: "list of Parameter Store parameter ARNs the operator may read \
               (arn:aws:ssm:us-east-1:123456789012:parameter/prod/*)",
    },
    PresetOption {
        name: "kmsKeyArns",
        help: "list of KMS key ARNs the secrets or SecureString parameters are encrypted with (customer managed keys only)",
    },
];

pub(crate) const PRESET: Preset = Preset {
    name: NAME,
    summary: "External Secrets Operator: read the given Secrets Manager secrets / SSM parameters",
    namespace: "external-secrets",
    service_account: "external-secrets",
    source: Source {
        url: "https://external-secrets.io/latest/provider/aws-secrets-manager/",
        checked: "2026-12-01",
    },
    install: Install::Helm {
        repo: "https://charts.external-secrets.io",
        chart: "external-secrets",
    },
    options: OPTIONS,
    render,
    helm_service_account_path: Some("serviceAccount"),
    notes: &[
        "A SecretStore or ClusterSecretStore with auth.jwt.serviceAccountRef (or no auth, for the controller's \
         own service account) uses this role.",
        "Parameter Store policy: https://external-secrets.io/latest/provider/aws-parameter-store/",
    ],
    eksctl_well_known: None,
    example_options: &[(
        "secretArns",
        &["arn:aws:secretsmanager:us-east-1:123456789012:secret:demo/*"],
    )],
};

const SECRET: ArnKind = ArnKind {
    service: "secretsmanager",
    resource_prefix: "secret:",
    example: "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf",
    wildcards: true,
};

const PARAMETER: ArnKind = ArnKind {
    service: "ssm",
    resource_prefix: "parameter/",
    example: "arn:aws:ssm:us-east-1:123456789012:parameter/prod/db-password",
    wildcards: true,
};

const KMS_KEY: ArnKind = ArnKind {
    service: "kms",
    resource_prefix: "key/",
    example: "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    wildcards: false,
};

fn render(params: &PresetParams) -> Result<PresetPolicies, PresetError> {
    reject_unknown_options(NAME, params, OPTIONS)?;
    let secrets = resource_arns(NAME, params, "secretArns", &SECRET)?;
    let parameters = resource_arns(NAME, params, "parameterArns", &PARAMETER)?;
    let keys = resource_arns(NAME, params, "kmsKeyArns", &KMS_KEY)?;
    if secrets.is_empty() && parameters.is_empty() {
        return Err(PresetError::Missing {
            preset: NAME,
            what: "secretArns or parameterArns",
            why: "the operator's access is scoped to the secrets and parameters it syncs; name them \
                  (wildcards in names are fine) rather than every secret in the account",
        });
    }
    let mut statements: Vec<Value> = Vec::new();
    if !secrets.is_empty() {
        statements.push(json!({
            "Sid": "ReadSecrets",
            "Effect": "Allow",
            "Action": [
                "secretsmanager:GetResourcePolicy",
                "secretsmanager:GetSecretValue",
                "secretsmanager:DescribeSecret",
                "secretsmanager:ListSecretVersionIds",
            ],
            "Resource": secrets,
        }));
    }
    if !parameters.is_empty() {
        statements.push(json!({
            "Sid": "ReadParameters",
            "Effect": "Allow",
            "Action": ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"],
            "Resource": parameters,
        }));
    }
    if !keys.is_empty() {
        statements.push(json!({
            "Sid": "DecryptWithKeys",
            "Effect": "Allow",
            "Action": ["kms:Decrypt"],
            "Resource": keys,
        }));
    }
    Ok(one_document(NAME, statements))
}

#[cfg(test)]
mod tests {
    use super::super::common::test_support::{params_with, sids};
    use super::*;

    #[test]
    fn statements_follow_the_options_given() {
        let secrets = ["arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/*"];
        let params = ["arn:aws:ssm:us-east-1:123456789012:parameter/prod/*"];
        let doc = |opts: &[(&str, &[&str])]| {
            (PRESET.render)(&params_with(None, opts)).unwrap().documents[0]
                .1
                .clone()
        };
        assert_eq!(sids(&doc(&[("secretArns", &secrets)])), ["ReadSecrets"]);
        assert_eq!(
            sids(&doc(&[("parameterArns", &params)])),
            ["ReadParameters"]
        );
        assert_eq!(
            sids(&doc(&[
                ("secretArns", &secrets),
                ("parameterArns", &params),
                (
                    "kmsKeyArns",
                    &["arn:aws:kms:us-east-1:123456789012:key/abcd-1234"]
                )
            ])),
            ["ReadSecrets", "ReadParameters", "DecryptWithKeys"]
        );
    }

    #[test]
    fn needs_an_arn_and_checks_its_kind() {
        let err = (PRESET.render)(&params_with(None, &[])).unwrap_err();
        assert!(matches!(
            err,
            PresetError::Missing {
                what: "secretArns or parameterArns",
                ..
            }
        ));
        for bad in [
            "*",
            "arn:aws:ssm:us-east-1:123456789012:parameter/prod/x",
            "arn:aws:secretsmanager:us-east-1:*:secret:x",
            "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:x",
        ] {
            let err = (PRESET.render)(&params_with(None, &[("secretArns", &[bad])])).unwrap_err();
            assert!(
                matches!(&err, PresetError::BadOption { option, .. } if option == "secretArns"),
                "{bad}: {err:?}"
            );
        }
    }
}
