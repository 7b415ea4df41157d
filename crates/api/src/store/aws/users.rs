//! Users in the table (`pk = USERS`, `sk = <name>`).

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;

use super::items::{s, text};
use super::{AwsStore, explain, remote};
use crate::store::{StoreError, UserRecord, UserStore};

/// A user from its item.
fn user_from(item: &HashMap<String, AttributeValue>) -> UserRecord {
    UserRecord {
        name: text(item, "sk"),
        role: text(item, "role"),
        groups: text(item, "groups"),
        password_hash: text(item, "password_hash"),
    }
}

#[async_trait]
impl UserStore for AwsStore {
    async fn get_user(&self, name: &str) -> Result<Option<UserRecord>, StoreError> {
        let output = self
            .dynamo
            .get_item()
            .table_name(&self.table)
            .key("pk", s("USERS"))
            .key("sk", s(name))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| remote("DynamoDB GetItem", explain(e)))?;
        Ok(output.item.as_ref().map(user_from))
    }

    async fn put_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        self.dynamo
            .put_item()
            .table_name(&self.table)
            .item("pk", s("USERS"))
            .item("sk", s(&user.name))
            .item("role", s(&user.role))
            .item("groups", s(&user.groups))
            .item("password_hash", s(&user.password_hash))
            .send()
            .await
            .map_err(|e| remote("DynamoDB PutItem", explain(e)))?;
        Ok(())
    }

    async fn remove_user(&self, name: &str) -> Result<bool, StoreError> {
        let output = self
            .dynamo
            .delete_item()
            .table_name(&self.table)
            .key("pk", s("USERS"))
            .key("sk", s(name))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| remote("DynamoDB DeleteItem", explain(e)))?;
        Ok(output.attributes.is_some_and(|a| !a.is_empty()))
    }

    async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        let mut users = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let page = self
                .dynamo
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s("USERS"))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| remote("DynamoDB Query", explain(e)))?;
            users.extend(page.items().iter().map(user_from));
            start = page.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        Ok(users)
    }
}
