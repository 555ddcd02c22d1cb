//! Which Azure regions the emulator accepts in a `location`: the public cloud's regions (by name,
//! `westeurope`, or display name, `West Europe`, compared ignoring case and spaces) and
//! `global`, which Event Grid uses for partner configurations and subscription-wide system
//! topics. Anything else (`mars`) is refused as ARM refuses it.
//!
//! Pure: a location in, a `StoreError` out; it must not read the store.

use crate::emulator::store::StoreError;

/// The public cloud's physical regions (names as `az account list-locations` prints them),
/// with the two canary regions the official examples use.
const REGIONS: &[&str] = &[
    "australiacentral",
    "australiacentral2",
    "australiaeast",
    "australiasoutheast",
    "austriaeast",
    "belgiumcentral",
    "brazilsouth",
    "brazilsoutheast",
    "canadacentral",
    "canadaeast",
    "centralindia",
    "centralus",
    "centraluseuap",
    "chilecentral",
    "eastasia",
    "eastus",
    "eastus2",
    "eastus2euap",
    "francecentral",
    "francesouth",
    "germanynorth",
    "germanywestcentral",
    "indonesiacentral",
    "israelcentral",
    "italynorth",
    "japaneast",
    "japanwest",
    "koreacentral",
    "koreasouth",
    "malaysiawest",
    "mexicocentral",
    "newzealandnorth",
    "northcentralus",
    "northeurope",
    "norwayeast",
    "norwaywest",
    "polandcentral",
    "qatarcentral",
    "southafricanorth",
    "southafricawest",
    "southcentralus",
    "southeastasia",
    "southindia",
    "spaincentral",
    "swedencentral",
    "switzerlandnorth",
    "switzerlandwest",
    "uaecentral",
    "uaenorth",
    "uksouth",
    "ukwest",
    "westcentralus",
    "westeurope",
    "westindia",
    "westus",
    "westus2",
    "westus3",
];

fn normalized(location: &str) -> String {
    location.replace(' ', "").to_ascii_lowercase()
}

/// Whether `location` names a region (or `global`).
pub fn is_known(location: &str) -> bool {
    let wanted = normalized(location);
    wanted == "global" || REGIONS.contains(&wanted.as_str())
}

/// Refuses an unknown `location` for `type_name` (`Microsoft.EventGrid/topics`) with ARM's
/// `LocationNotAvailableForResourceType`. A missing location is left to the store, which
/// answers `LocationRequired`.
pub fn check_for_type(location: Option<&str>, type_name: &str) -> Result<(), StoreError> {
    match location {
        Some(l) if !l.trim().is_empty() && !is_known(l) => Err(StoreError::bad(
            "LocationNotAvailableForResourceType",
            format!(
                "The provided location '{l}' is not available for resource type '{type_name}'. List of available regions for the resource type is '{}'.",
                REGIONS.join(",")
            ),
        )),
        _ => Ok(()),
    }
}

/// Refuses an unknown resource group `location` (`LocationNotAvailableForResourceGroup`).
pub fn check_for_group(location: Option<&str>) -> Result<(), StoreError> {
    match location {
        Some(l) if !l.trim().is_empty() && !is_known(l) => Err(StoreError::bad(
            "LocationNotAvailableForResourceGroup",
            format!(
                "The provided location '{l}' is not available for resource group. List of available regions is '{}'.",
                REGIONS.join(",")
            ),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_match_ignoring_case_and_spaces() {
        for ok in [
            "westeurope",
            "West Europe",
            "WESTUS2",
            "global",
            "East US 2",
        ] {
            assert!(is_known(ok), "{ok}");
        }
        for bad in ["mars", "west-europe", "eastus3", ""] {
            assert!(!is_known(bad), "{bad}");
        }
        let err = check_for_type(Some("mars"), "Microsoft.EventGrid/topics").unwrap_err();
        assert!(err.to_string().contains("'mars'"), "{err}");
        assert!(check_for_type(None, "x").is_ok());
        assert!(check_for_group(Some("mars")).is_err());
    }
}
