//! CloudTrail of the configured region for `irsa audit`: `DescribeTrails` (shadow trails
//! included, so a multi-region trail homed elsewhere counts) and `GetTrailStatus` for each trail,
//! by ARN, into an `irsa_core` [`CloudTrailStatus`].

use futures_util::future::try_join_all;
use irsa_core::audit::{CloudTrailStatus, TrailState};
use tokio::sync::Semaphore;

use crate::clients::Clients;
use crate::error::AwsError;
use crate::observe::limited;

pub(crate) async fn observe(
    clients: &Clients,
    limit: &Semaphore,
) -> Result<CloudTrailStatus, AwsError> {
    let region = clients.region.as_str();
    let out = limited(
        limit,
        clients
            .cloudtrail
            .describe_trails()
            .include_shadow_trails(true)
            .send(),
    )
    .await
    .map_err(|e| AwsError::from_sdk("cloudtrail:DescribeTrails", region, e))?;
    let trails = try_join_all(
        out.trail_list()
            .iter()
            .map(|trail| limited(limit, trail_state(clients, trail))),
    )
    .await?;
    Ok(CloudTrailStatus {
        region: region.to_string(),
        trails,
    })
}

async fn trail_state(
    clients: &Clients,
    trail: &aws_sdk_cloudtrail::types::Trail,
) -> Result<TrailState, AwsError> {
    let name = trail.name().unwrap_or_default().to_string();
    let arn = trail.trail_arn().unwrap_or(&name).to_string();
    let status = clients
        .cloudtrail
        .get_trail_status()
        .name(&arn)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("cloudtrail:GetTrailStatus", arn.as_str(), e))?;
    Ok(TrailState {
        home_region: trail
            .home_region()
            .unwrap_or(clients.region.as_str())
            .to_string(),
        multi_region: trail.is_multi_region_trail().unwrap_or(false),
        logging: status.is_logging().unwrap_or(false),
        name,
        arn,
    })
}
