//! The CloudTrail records of the fake EKS Auth's calls, shaped like the sample events of
//! aws-samples/amazon-eks-security-immersion-day ("Deep Dive into EKS Pod Identity"):
//!
//! - `AssumeRoleForPodIdentity`: `eventSource` `eks-auth.amazonaws.com`, the caller's identity
//!   (its access key), `requestParameters {clusterName, token: "HIDDEN_DUE_TO_SECURITY_REASONS"}`,
//!   `responseElements` null, `readOnly` true, resource `AWS::EKS::Cluster` named after the
//!   cluster; `errorCode`/`errorMessage` on a refusal;
//! - the STS `AssumeRole` it makes: `userIdentity {type: AWSService, invokedBy:
//!   pods.eks.amazonaws.com}`, `sourceIPAddress` and `userAgent` `pods.eks.amazonaws.com`,
//!   `requestParameters {roleArn, roleSessionName, durationSeconds, tags [{key, value}],
//!   transitiveTagKeys}` (the tags only when sent; `policy` and `externalId` when sent), `responseElements {credentials {accessKeyId,
//!   expiration}, assumedRoleUser {assumedRoleId, arn}}` (the fake keeps no secret or session
//!   token), resource `AWS::IAM::Role`, `sharedEventID`.

use serde_json::{Value, json};

use crate::aws_wire::{arn_partition_account, new_id};
use crate::fake_cloudtrail::RecordedEvent;
use crate::moto_iam::{AssumeRole, Assumed, POD_IDENTITY_PRINCIPAL};

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

fn event_time(time_ms: i64) -> String {
    jiff::Timestamp::from_millisecond(time_ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// The fields every management event has.
fn document(
    region: &str,
    source: &str,
    name: &str,
    time_ms: i64,
    event_id: &str,
    account: &str,
) -> Value {
    json!({
        "eventVersion": "1.09",
        "eventTime": event_time(time_ms),
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "responseElements": null,
        "requestID": new_id(),
        "eventID": event_id,
        "readOnly": true,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": account,
        "eventCategory": "Management",
    })
}

/// The record of one AssumeRoleForPodIdentity (`refusal`: its error code and message).
pub fn assume_role_for_pod_identity(
    region: &str,
    cluster: &str,
    caller_key: Option<&str>,
    user_agent: &str,
    refusal: Option<(&str, &str)>,
) -> RecordedEvent {
    let time_ms = now_ms();
    let event_id = new_id();
    let account = crate::sandbox::SANDBOX_ACCOUNT;
    let mut doc = document(
        region,
        "eks-auth.amazonaws.com",
        "AssumeRoleForPodIdentity",
        time_ms,
        &event_id,
        account,
    );
    doc["userIdentity"] =
        json!({"type": "IAMUser", "accountId": account, "accessKeyId": caller_key});
    doc["sourceIPAddress"] = json!("127.0.0.1");
    doc["userAgent"] = json!(user_agent);
    doc["requestParameters"] =
        json!({"clusterName": cluster, "token": "HIDDEN_DUE_TO_SECURITY_REASONS"});
    if let Some((code, message)) = refusal {
        doc["errorCode"] = json!(code);
        doc["errorMessage"] = json!(message);
    }
    RecordedEvent {
        seq: 0,
        event_id,
        event_name: "AssumeRoleForPodIdentity".into(),
        event_source: "eks-auth.amazonaws.com".into(),
        time_ms,
        username: None,
        access_key_id: caller_key.map(str::to_string),
        read_only: true,
        resources: vec![("AWS::EKS::Cluster".into(), cluster.into())],
        document: doc,
    }
}

/// The record of one STS AssumeRole made by EKS Pod Identity.
pub fn service_assume_role(
    region: &str,
    request: &AssumeRole,
    outcome: &Result<Assumed, (String, String)>,
) -> RecordedEvent {
    let time_ms = now_ms();
    let event_id = new_id();
    let account = arn_partition_account(&request.role_arn)
        .map(|(_, a)| a)
        .unwrap_or_default();
    let mut doc = document(
        region,
        "sts.amazonaws.com",
        "AssumeRole",
        time_ms,
        &event_id,
        account,
    );
    doc["userIdentity"] = json!({"type": "AWSService", "invokedBy": POD_IDENTITY_PRINCIPAL});
    doc["sourceIPAddress"] = json!(POD_IDENTITY_PRINCIPAL);
    doc["userAgent"] = json!(POD_IDENTITY_PRINCIPAL);
    let mut parameters = json!({
        "roleArn": request.role_arn,
        "roleSessionName": request.session_name,
        "durationSeconds": request.duration_seconds,
    });
    if !request.tags.is_empty() {
        parameters["tags"] = request
            .tags
            .iter()
            .map(|(k, v)| json!({"key": k, "value": v}))
            .collect();
        parameters["transitiveTagKeys"] = request.tags.iter().map(|(k, _)| json!(k)).collect();
    }
    if let Some(external_id) = &request.external_id {
        parameters["externalId"] = json!(external_id);
    }
    if let Some(policy) = &request.policy {
        parameters["policy"] = json!(policy);
    }
    doc["requestParameters"] = parameters;
    doc["resources"] =
        json!([{"accountId": account, "type": "AWS::IAM::Role", "ARN": request.role_arn}]);
    doc["sharedEventID"] = json!(new_id());
    let mut resources = vec![("AWS::IAM::Role".to_string(), request.role_arn.clone())];
    match outcome {
        Ok(assumed) => {
            doc["responseElements"] = json!({
                "credentials": {"accessKeyId": assumed.access_key_id, "expiration": assumed.expiration},
                "assumedRoleUser": {"assumedRoleId": assumed.assumed_role_id, "arn": assumed.arn},
            });
            resources.push(("AWS::STS::AssumedRole".into(), assumed.arn.clone()));
            resources.push(("AWS::IAM::AccessKey".into(), assumed.access_key_id.clone()));
        }
        Err((code, message)) => {
            doc["errorCode"] = json!(code);
            doc["errorMessage"] = json!(message);
        }
    }
    RecordedEvent {
        seq: 0,
        event_id,
        event_name: "AssumeRole".into(),
        event_source: "sts.amazonaws.com".into(),
        time_ms,
        username: None,
        access_key_id: None,
        read_only: true,
        resources,
        document: doc,
    }
}
