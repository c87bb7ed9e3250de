//! Seeds moto with the sandbox's EKS cluster (CreateCluster, restJson1) and what its account has
//! besides the cluster: the Auto Scaling group of its nodes, tagged for the Cluster Autoscaler's
//! auto-discovery (`k8s.io/cluster-autoscaler/enabled=true`, `k8s.io/cluster-autoscaler/<cluster>=owned`,
//! as eksctl tags managed node groups), with a launch configuration (query protocol); and, for
//! `--enforce-iam`, the IAM user whose keys the sandbox hands out ([`create_caller`]). moto routes
//! requests by the credential scope of the Authorization header; these carry the sandbox's own key.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use serde_json::{Value, json};

use crate::aws_wire::query::{form_encode, xml_text};
use crate::sandbox::SANDBOX_ACCOUNT;

/// Creates the cluster and returns its OIDC issuer.
pub async fn create_cluster(moto: &str, cluster: &str, region: &str) -> Result<String, String> {
    let body = json!({
        "name": cluster,
        "version": "1.33",
        "roleArn": format!("arn:aws:iam::{SANDBOX_ACCOUNT}:role/{cluster}-eks-cluster"),
        "resourcesVpcConfig": {"subnetIds": ["subnet-0sandbox1", "subnet-0sandbox2"]},
    });
    let (status, bytes) = post(
        &format!("{moto}/clusters"),
        "application/json",
        "eks",
        region,
        body.to_string(),
    )
    .await?;
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| format!("HTTP {status}: {e}: {}", String::from_utf8_lossy(&bytes)))?;
    if !status.is_success() {
        return Err(format!("HTTP {status}: {value}"));
    }
    value["cluster"]["identity"]["oidc"]["issuer"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("no OIDC issuer in moto's answer: {value}"))
}

/// The node group's Auto Scaling group name for `cluster`.
pub fn node_group_name(cluster: &str) -> String {
    format!("eks-{cluster}-nodes")
}

/// Creates the launch configuration and the tagged Auto Scaling group.
pub async fn create_node_group(moto: &str, cluster: &str, region: &str) -> Result<(), String> {
    let group = node_group_name(cluster);
    let launch_configuration = format!("{group}-lc");
    call(
        moto,
        region,
        &[
            ("Action", "CreateLaunchConfiguration"),
            ("LaunchConfigurationName", &launch_configuration),
            ("ImageId", "ami-12c6146b"),
            ("InstanceType", "t3.medium"),
        ],
    )
    .await?;
    let zone = format!("{region}a");
    let cluster_tag = format!("k8s.io/cluster-autoscaler/{cluster}");
    let mut params: Vec<(String, String)> = [
        ("Action", "CreateAutoScalingGroup"),
        ("AutoScalingGroupName", group.as_str()),
        ("LaunchConfigurationName", launch_configuration.as_str()),
        ("MinSize", "0"),
        ("MaxSize", "3"),
        ("DesiredCapacity", "0"),
        ("AvailabilityZones.member.1", zone.as_str()),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (i, (key, value)) in [
        ("k8s.io/cluster-autoscaler/enabled", "true"),
        (cluster_tag.as_str(), "owned"),
    ]
    .iter()
    .enumerate()
    {
        let at = format!("Tags.member.{}", i + 1);
        for (field, v) in [
            ("Key", *key),
            ("Value", *value),
            ("PropagateAtLaunch", "false"),
            ("ResourceId", group.as_str()),
            ("ResourceType", "auto-scaling-group"),
        ] {
            params.push((format!("{at}.{field}"), v.to_string()));
        }
    }
    let params: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    call(moto, region, &params).await
}

/// The IAM user whose keys `irsa-sandbox --enforce-iam` hands out, with its policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub arn: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// The managed policies attached to it now.
    pub policy_arns: Vec<String>,
}

/// Creates the IAM user `name` and an access key, with no policy yet (see
/// [`set_caller_policies`]).
pub async fn create_caller(moto: &str, name: &str) -> Result<Caller, String> {
    let user = iam(
        moto,
        vec![("Action", "CreateUser".into()), ("UserName", name.into())],
    )
    .await?;
    let key = iam(
        moto,
        vec![
            ("Action", "CreateAccessKey".into()),
            ("UserName", name.into()),
        ],
    )
    .await?;
    let field = |xml: &str, tag: &str| {
        xml_text(xml, tag).ok_or_else(|| format!("moto's answer has no {tag}: {xml}"))
    };
    Ok(Caller {
        arn: field(&user, "Arn")?,
        access_key_id: field(&key, "AccessKeyId")?,
        secret_access_key: field(&key, "SecretAccessKey")?,
        policy_arns: Vec::new(),
    })
}

/// Gives the caller `documents`, each as a customer managed policy `<user>-policy-<generation>-<n>`
/// (a managed policy holds 6,144 characters, an inline user policy only 2,048), in place of the
/// ones it has.
pub async fn set_caller_policies(
    moto: &str,
    caller: &mut Caller,
    user: &str,
    generation: u32,
    documents: &[Value],
) -> Result<(), String> {
    let mut attached = Vec::new();
    for (n, document) in documents.iter().enumerate() {
        let name = format!("{user}-policy-{generation}-{}", n + 1);
        attached.push(attach_new_policy(moto, user, &name, document).await?);
    }
    for old in std::mem::replace(&mut caller.policy_arns, attached) {
        iam(
            moto,
            vec![
                ("Action", "DetachUserPolicy".into()),
                ("UserName", user.into()),
                ("PolicyArn", old),
            ],
        )
        .await?;
    }
    Ok(())
}

/// Creates the managed policy and attaches it to `user`; its ARN.
async fn attach_new_policy(
    moto: &str,
    user: &str,
    policy_name: &str,
    policy: &Value,
) -> Result<String, String> {
    let created = iam(
        moto,
        vec![
            ("Action", "CreatePolicy".into()),
            ("PolicyName", policy_name.into()),
            ("PolicyDocument", policy.to_string()),
        ],
    )
    .await?;
    let policy_arn = xml_text(&created, "Arn").ok_or("CreatePolicy answered no Arn")?;
    iam(
        moto,
        vec![
            ("Action", "AttachUserPolicy".into()),
            ("UserName", user.into()),
            ("PolicyArn", policy_arn.clone()),
        ],
    )
    .await?;
    Ok(policy_arn)
}

/// One IAM query call as the sandbox.
async fn iam(moto: &str, params: Vec<(&'static str, String)>) -> Result<String, String> {
    let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    query(moto, "iam", "us-east-1", "2010-05-08", &params).await
}

/// One Auto Scaling query call; an error carries moto's answer.
async fn call(moto: &str, region: &str, params: &[(&str, &str)]) -> Result<(), String> {
    query(moto, "autoscaling", region, "2011-01-01", params)
        .await
        .map(drop)
}

/// One query-protocol call (`params[0]` is the Action); the XML answer, or an error that
/// carries moto's answer.
async fn query(
    moto: &str,
    service: &str,
    region: &str,
    version: &str,
    params: &[(&str, &str)],
) -> Result<String, String> {
    let mut body = format!("Version={version}");
    for (key, value) in params {
        body.push_str(&format!("&{}={}", form_encode(key), form_encode(value)));
    }
    let (status, bytes) = post(
        &format!("{moto}/"),
        "application/x-www-form-urlencoded",
        service,
        region,
        body,
    )
    .await?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    if status.is_success() {
        return Ok(text);
    }
    Err(format!("{}: HTTP {status}: {text}", params[0].1))
}

/// A POST to moto for `service` in `region` (an unsigned SigV4-shaped Authorization header of
/// the sandbox's own key, which is all moto routes on and which it lets through under
/// `--enforce-iam`); the status and the whole answer.
async fn post(
    url: &str,
    content_type: &str,
    service: &str,
    region: &str,
    body: String,
) -> Result<(hyper::StatusCode, Bytes), String> {
    let authorization = crate::fake_eks::sandbox_authorization(service, region);
    let request = hyper::Request::post(url)
        .header("content-type", content_type)
        .header("authorization", authorization)
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let response = client.request(request).await.map_err(|e| e.to_string())?;
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, bytes))
}
