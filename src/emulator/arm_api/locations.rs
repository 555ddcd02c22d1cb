//! `GET /subscriptions/{s}/locations`: the public Azure regions, each with its name and display
//! name, in ARM's `Location` shape.
//!
//! A fixed table; it must not decide which locations a resource accepts.

use serde_json::{Value, json};

/// (name, display name, geography group) of each region listed.
const REGIONS: &[(&str, &str, &str)] = &[
    ("australiacentral", "Australia Central", "Asia Pacific"),
    ("australiaeast", "Australia East", "Asia Pacific"),
    ("australiasoutheast", "Australia Southeast", "Asia Pacific"),
    ("brazilsouth", "Brazil South", "South America"),
    ("canadacentral", "Canada Central", "Canada"),
    ("canadaeast", "Canada East", "Canada"),
    ("centralindia", "Central India", "Asia Pacific"),
    ("centralus", "Central US", "US"),
    ("eastasia", "East Asia", "Asia Pacific"),
    ("eastus", "East US", "US"),
    ("eastus2", "East US 2", "US"),
    ("francecentral", "France Central", "Europe"),
    ("germanywestcentral", "Germany West Central", "Europe"),
    ("japaneast", "Japan East", "Asia Pacific"),
    ("japanwest", "Japan West", "Asia Pacific"),
    ("koreacentral", "Korea Central", "Asia Pacific"),
    ("koreasouth", "Korea South", "Asia Pacific"),
    ("northcentralus", "North Central US", "US"),
    ("northeurope", "North Europe", "Europe"),
    ("norwayeast", "Norway East", "Europe"),
    ("southafricanorth", "South Africa North", "Africa"),
    ("southcentralus", "South Central US", "US"),
    ("southeastasia", "Southeast Asia", "Asia Pacific"),
    ("southindia", "South India", "Asia Pacific"),
    ("swedencentral", "Sweden Central", "Europe"),
    ("switzerlandnorth", "Switzerland North", "Europe"),
    ("uaenorth", "UAE North", "Middle East"),
    ("uksouth", "UK South", "Europe"),
    ("ukwest", "UK West", "Europe"),
    ("westcentralus", "West Central US", "US"),
    ("westeurope", "West Europe", "Europe"),
    ("westindia", "West India", "Asia Pacific"),
    ("westus", "West US", "US"),
    ("westus2", "West US 2", "US"),
    ("westus3", "West US 3", "US"),
];

/// The `{"value": [...]}` body of the locations list of `subscription`.
pub fn list(subscription: &str) -> Value {
    let value: Vec<Value> = REGIONS
        .iter()
        .map(|(name, display, geography)| {
            json!({
                "id": format!("/subscriptions/{subscription}/locations/{name}"),
                "name": name,
                "type": "Region",
                "displayName": display,
                "regionalDisplayName": format!("({geography}) {display}"),
                "metadata": {
                    "regionType": "Physical",
                    "regionCategory": "Recommended",
                    "geographyGroup": geography,
                },
            })
        })
        .collect();
    json!({ "value": value })
}
