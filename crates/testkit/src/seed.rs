//! Seeds moto with the sandbox's EKS cluster (CreateCluster, restJson1) and what its account has
//! besides the cluster: the Auto Scaling group of its nodes, tagged for the Cluster Autoscaler's
//! auto-discovery (`k8s.io/cluster-autoscaler/enabled=true`, `k8s.io/cluster-autoscaler/<cluster>=owned`,
//! as eksctl tags managed node groups), with a launch configuration (query protocol). moto routes
//! requests by the credential scope of the Authorization header and checks no signature.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use serde_json::{Value, json};

use crate::aws_wire::query::form_encode;
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

/// One Auto Scaling query call; an error carries moto's answer.
async fn call(moto: &str, region: &str, params: &[(&str, &str)]) -> Result<(), String> {
    let mut body = String::from("Version=2011-01-01");
    for (key, value) in params {
        body.push_str(&format!("&{}={}", form_encode(key), form_encode(value)));
    }
    let (status, bytes) = post(
        &format!("{moto}/"),
        "application/x-www-form-urlencoded",
        "autoscaling",
        region,
        body,
    )
    .await?;
    if status.is_success() {
        return Ok(());
    }
    Err(format!(
        "{}: HTTP {status}: {}",
        params[0].1,
        String::from_utf8_lossy(&bytes)
    ))
}

/// A POST to moto for `service` in `region` (an unsigned SigV4-shaped Authorization header, which
/// is all moto routes on); the status and the whole answer.
async fn post(
    url: &str,
    content_type: &str,
    service: &str,
    region: &str,
    body: String,
) -> Result<(hyper::StatusCode, Bytes), String> {
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential=testing/20260101/{region}/{service}/aws4_request, SignedHeaders=host, Signature=0"
    );
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
