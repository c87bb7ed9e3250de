//! Seeds moto with what an EKS cluster's account has besides the cluster: the Auto Scaling group
//! of its nodes, tagged for the Cluster Autoscaler's auto-discovery
//! (`k8s.io/cluster-autoscaler/enabled=true`, `k8s.io/cluster-autoscaler/<cluster>=owned`, as
//! eksctl tags managed node groups), with a launch configuration. Query-protocol requests
//! (form-encoded POST); moto routes them by the credential scope and checks no signature.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

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
        body.push_str(&format!("&{}={}", encode(key), encode(value)));
    }
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential=testing/20260101/{region}/autoscaling/aws4_request, SignedHeaders=host, Signature=0"
    );
    let request = hyper::Request::post(format!("{moto}/"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", authorization)
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let response = client.request(request).await.map_err(|e| e.to_string())?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let bytes = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Err(format!(
        "{}: HTTP {status}: {}",
        params[0].1,
        String::from_utf8_lossy(&bytes)
    ))
}

/// Percent-encoding of a form value (RFC 3986 unreserved characters kept).
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
