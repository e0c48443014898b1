"""DynamoDB items through boto3: every attribute type, the write operations'
ReturnValues, conditions, key and size validation, capacity units as
DynamoDB computes them, and the legacy (non-expression) parameters."""

import boto3.dynamodb.types
import pytest
from decimal import Decimal

from dynamodb_support import call, ddb, error_of, make_table, server, unique, validation  # noqa: F401


@pytest.fixture(scope="module")
def table(ddb):
    return make_table(ddb)


@pytest.fixture(scope="module")
def ranged(ddb):
    return make_table(ddb, range_type="N")


def test_every_attribute_type_round_trips(ddb, table):
    item = {
        "pk": {"S": "types"},
        "s": {"S": "héllo"}, "empty": {"S": ""}, "n": {"N": "-12.50"}, "b": {"B": b"\x00\xff"},
        "t": {"BOOL": True}, "nil": {"NULL": True},
        "m": {"M": {"inner": {"L": [{"N": "1"}, {"S": "two"}, {"M": {}}]}}},
        "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2.5"]}, "bs": {"BS": [b"x", b"y"]},
        "emptyb": {"B": b""},
    }
    ddb.put_item(TableName=table, Item=item)
    got = ddb.get_item(TableName=table, Key={"pk": {"S": "types"}})["Item"]
    expected = dict(item, n={"N": "-12.5"})  # numbers come back canonical
    for key in ("ss", "ns", "bs"):
        assert sorted(got.pop(key)[key.upper()]) == sorted(expected.pop(key)[key.upper()])
    assert got == expected


def test_numbers_keep_38_digits_exactly(ddb, table):
    big = "12345678901234567890123456789012345678"
    ddb.put_item(TableName=table, Item={"pk": {"S": "big"}, "n": {"N": big}, "tiny": {"N": "1E-130"}})
    got = ddb.get_item(TableName=table, Key={"pk": {"S": "big"}})["Item"]
    assert got["n"] == {"N": big}
    assert Decimal(got["tiny"]["N"]) == Decimal("1E-130")
    assert validation(ddb.put_item, TableName=table,
                      Item={"pk": {"S": "x"}, "n": {"N": big + "9"}}) == \
        "Attempting to store more than 38 significant digits in a Number"
    assert validation(ddb.put_item, TableName=table, Item={"pk": {"S": "x"}, "n": {"N": "1E+126"}}) == \
        "Number overflow. Attempting to store a number with magnitude larger than supported range"
    assert validation(ddb.put_item, TableName=table, Item={"pk": {"S": "x"}, "n": {"N": "1E-131"}}) == \
        "Number underflow. Attempting to store a number with magnitude smaller than supported range"


@pytest.mark.parametrize("item, message", [
    ({"other": {"S": "a"}}, "One or more parameter values were invalid: Missing the key pk in the item"),
    ({"pk": {"N": "1"}},
     "One or more parameter values were invalid: Type mismatch for key pk expected: S actual: N"),
    ({"pk": {"S": ""}},
     "One or more parameter values are not valid. The AttributeValue for a key attribute cannot "
     "contain an empty string value. Key: pk"),
    ({"pk": {"S": "a"}, "ss": {"SS": []}},
     "One or more parameter values were invalid: An string set  may not be empty"),
    ({"pk": {"S": "a"}, "ss": {"SS": ["x", "x"]}},
     "One or more parameter values were invalid: Input collection [x, x] contains duplicates."),
    ({"pk": {"S": "a"}, "n": {"NULL": False}},
     "One or more parameter values were invalid: Null attribute value types must have the value of true"),
    ({"pk": {"S": "a"}, "n": {"N": "twelve"}},
     "The parameter cannot be converted to a numeric value: twelve"),
])
def test_put_item_validates_items_as_dynamodb_does(ddb, table, item, message):
    assert validation(ddb.put_item, TableName=table, Item=item) == message


def test_keys_must_match_the_schema(ddb, ranged):
    message = "The provided key element does not match the schema"
    assert validation(ddb.get_item, TableName=ranged, Key={"pk": {"S": "a"}}) == message
    assert validation(ddb.get_item, TableName=ranged,
                      Key={"pk": {"S": "a"}, "sk": {"S": "1"}}) == message
    assert validation(ddb.get_item, TableName=ranged,
                      Key={"pk": {"S": "a"}, "sk": {"N": "1"}, "x": {"S": "y"}}) == message


def test_items_over_400_kb_are_refused_and_size_counts_names(ddb, table):
    # 400 KB = 409600 bytes: name "pk" + "a" + name "d" + value.
    fits = 409600 - 2 - 1 - 1
    ddb.put_item(TableName=table, Item={"pk": {"S": "a"}, "d": {"S": "x" * fits}})
    assert validation(ddb.put_item, TableName=table,
                      Item={"pk": {"S": "a"}, "d": {"S": "x" * (fits + 1)}}) == \
        "Item size has exceeded the maximum allowed size"
    message = validation(ddb.update_item, TableName=table, Key={"pk": {"S": "a"}},
                         UpdateExpression="SET e = :v", ExpressionAttributeValues={":v": {"S": "yy"}})
    assert message == "Item size to update has exceeded the maximum allowed size"


def test_put_returns_the_old_item_and_get_projects(ddb, table):
    key = {"pk": {"S": unique()}}
    assert "Attributes" not in ddb.put_item(TableName=table, Item=dict(key, v={"N": "1"}),
                                            ReturnValues="ALL_OLD")
    old = ddb.put_item(TableName=table, Item=dict(key, v={"N": "2"}, m={"M": {"a": {"S": "x"}, "b": {"S": "y"}}}),
                       ReturnValues="ALL_OLD")["Attributes"]
    assert old == dict(key, v={"N": "1"})
    assert validation(ddb.put_item, TableName=table, Item=key, ReturnValues="ALL_NEW") == \
        "ReturnValues can only be ALL_OLD or NONE"
    got = ddb.get_item(TableName=table, Key=key, ProjectionExpression="m.b, #v",
                       ExpressionAttributeNames={"#v": "v"})["Item"]
    assert got == {"m": {"M": {"b": {"S": "y"}}}, "v": {"N": "2"}}
    got = ddb.get_item(TableName=table, Key=key, AttributesToGet=["v"])["Item"]
    assert got == {"v": {"N": "2"}}
    assert "Item" not in ddb.get_item(TableName=table, Key={"pk": {"S": "absent"}})


def test_conditional_writes(server, ddb, table):
    key = {"pk": {"S": unique()}}
    ddb.put_item(TableName=table, Item=dict(key, v={"N": "1"}), ConditionExpression="attribute_not_exists(pk)")
    code, message, status = error_of(ddb.put_item, TableName=table, Item=dict(key, v={"N": "9"}),
                                     ConditionExpression="attribute_not_exists(pk)")
    assert (code, message, status) == ("ConditionalCheckFailedException", "The conditional request failed", 400)
    # ReturnValuesOnConditionCheckFailure is newer than Debian's botocore model: raw JSON.
    status, body = call(server, "DeleteItem", {
        "TableName": table, "Key": key, "ConditionExpression": "v > :v",
        "ExpressionAttributeValues": {":v": {"N": "5"}},
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD"})
    assert status == 400
    assert body["__type"].endswith("ConditionalCheckFailedException")
    assert body["Item"] == dict(key, v={"N": "1"})
    status, body = call(server, "DeleteItem", {
        "TableName": table, "Key": key, "ConditionExpression": "v > :v",
        "ExpressionAttributeValues": {":v": {"N": "5"}}})
    assert status == 400 and "Item" not in body
    deleted = ddb.delete_item(TableName=table, Key=key, ConditionExpression="v = :v",
                              ExpressionAttributeValues={":v": {"N": "1"}}, ReturnValues="ALL_OLD")
    assert deleted["Attributes"] == dict(key, v={"N": "1"})
    assert "Item" not in ddb.get_item(TableName=table, Key=key)


def test_update_item_return_values(ddb, table):
    key = {"pk": {"S": unique()}}
    created = ddb.update_item(TableName=table, Key=key, UpdateExpression="SET a = :one, b = :two",
                              ExpressionAttributeValues={":one": {"N": "1"}, ":two": {"S": "2"}},
                              ReturnValues="ALL_NEW")["Attributes"]
    assert created == dict(key, a={"N": "1"}, b={"S": "2"})
    values = {":one": {"N": "1"}}
    old = ddb.update_item(TableName=table, Key=key, UpdateExpression="SET a = a + :one REMOVE b",
                          ExpressionAttributeValues=values, ReturnValues="UPDATED_OLD")["Attributes"]
    assert old == {"a": {"N": "1"}, "b": {"S": "2"}}
    new = ddb.update_item(TableName=table, Key=key, UpdateExpression="ADD a :one",
                          ExpressionAttributeValues=values, ReturnValues="UPDATED_NEW")["Attributes"]
    assert new == {"a": {"N": "3"}}
    everything_old = ddb.update_item(TableName=table, Key=key, UpdateExpression="ADD a :one",
                                     ExpressionAttributeValues=values, ReturnValues="ALL_OLD")["Attributes"]
    assert everything_old == dict(key, a={"N": "3"})
    message = validation(ddb.update_item, TableName=table, Key=key, UpdateExpression="SET pk = :one",
                         ExpressionAttributeValues=values)
    assert message == ("One or more parameter values were invalid: Cannot update attribute pk. "
                       "This attribute is part of the key")


def test_update_without_expression_creates_the_key_only_item(ddb, table):
    key = {"pk": {"S": unique()}}
    ddb.update_item(TableName=table, Key=key)
    assert ddb.get_item(TableName=table, Key=key)["Item"] == key


def test_consumed_capacity_counts_units_as_dynamodb(ddb, table):
    key = {"pk": {"S": unique()}}
    item = dict(key, d={"S": "x" * 2000})  # about 2 KB: 2 write units, 1 read unit
    put = ddb.put_item(TableName=table, Item=item, ReturnConsumedCapacity="TOTAL")
    assert put["ConsumedCapacity"]["TableName"] == table
    assert put["ConsumedCapacity"]["CapacityUnits"] == 2.0
    eventual = ddb.get_item(TableName=table, Key=key, ReturnConsumedCapacity="TOTAL")
    assert eventual["ConsumedCapacity"]["CapacityUnits"] == 0.5
    strong = ddb.get_item(TableName=table, Key=key, ConsistentRead=True, ReturnConsumedCapacity="INDEXES")
    assert strong["ConsumedCapacity"]["CapacityUnits"] == 1.0
    assert strong["ConsumedCapacity"]["Table"]["CapacityUnits"] == 1.0
    # A delete pays for the size of the item it removes.
    deleted = ddb.delete_item(TableName=table, Key=key, ReturnConsumedCapacity="TOTAL")
    assert deleted["ConsumedCapacity"]["CapacityUnits"] == 2.0
    assert "ConsumedCapacity" not in ddb.get_item(TableName=table, Key=key)


def test_legacy_parameters_are_accepted(ddb, table):
    key = {"pk": {"S": unique()}}
    ddb.put_item(TableName=table, Item=dict(key, v={"N": "1"}), Expected={"pk": {"Exists": False}})
    with pytest.raises(ddb.exceptions.ConditionalCheckFailedException):
        ddb.put_item(TableName=table, Item=key, Expected={"v": {"Value": {"N": "2"}}})
    ddb.update_item(TableName=table, Key=key,
                    AttributeUpdates={"v": {"Action": "ADD", "Value": {"N": "4"}},
                                      "l": {"Action": "ADD", "Value": {"L": [{"S": "x"}]}},
                                      "s": {"Action": "PUT", "Value": {"S": "new"}}},
                    Expected={"v": {"ComparisonOperator": "LT", "AttributeValueList": [{"N": "5"}]}})
    got = ddb.get_item(TableName=table, Key=key)["Item"]
    assert got == dict(key, v={"N": "5"}, l={"L": [{"S": "x"}]}, s={"S": "new"})
    ddb.update_item(TableName=table, Key=key, AttributeUpdates={"s": {"Action": "DELETE"}})
    assert "s" not in ddb.get_item(TableName=table, Key=key)["Item"]
    message = validation(ddb.put_item, TableName=table, Item=key, Expected={"v": {"Exists": False}},
                         ConditionExpression="attribute_exists(v)")
    assert message == ("Can not use both expression and non-expression parameters in the same request: "
                       "Non-expression parameters: {Expected} Expression parameters: {ConditionExpression}")


def test_the_resource_api_and_the_cli_read_and_write(server, ddb, table):
    resource = boto3.resource("dynamodb", endpoint_url=server.endpoint, region_name="us-east-1",
                              aws_access_key_id="test", aws_secret_access_key="test")
    resource.Table(table).put_item(Item={"pk": "resource", "price": Decimal("9.99"), "tags": {"a", "b"}})
    got = resource.Table(table).get_item(Key={"pk": "resource"})["Item"]
    assert got == {"pk": "resource", "price": Decimal("9.99"), "tags": {"a", "b"}}
    cli = server.aws("dynamodb", "get-item", "--table-name", table, "--key", '{"pk":{"S":"resource"}}')
    assert cli["Item"]["price"] == {"N": "9.99"}
    assert isinstance(boto3.dynamodb.types.TypeDeserializer().deserialize(cli["Item"]["price"]), Decimal)
