"""BatchGetItem and BatchWriteItem through boto3, validated as DynamoDB
validates them."""

import pytest

from dynamodb_support import ddb, error_of, make_table, server, unique, validation  # noqa: F401


@pytest.fixture(scope="module")
def tables(ddb):
    return make_table(ddb), make_table(ddb, range_type="N")


def test_batch_write_then_batch_get_across_tables(ddb, tables):
    plain, ranged = tables
    ddb.batch_write_item(RequestItems={
        plain: [{"PutRequest": {"Item": {"pk": {"S": f"k{i}"}, "v": {"N": str(i)}}}} for i in range(10)],
        ranged: [{"PutRequest": {"Item": {"pk": {"S": "p"}, "sk": {"N": str(i)}}}} for i in range(5)],
    })
    result = ddb.batch_get_item(RequestItems={
        plain: {"Keys": [{"pk": {"S": "k1"}}, {"pk": {"S": "k7"}}, {"pk": {"S": "absent"}}],
                "ProjectionExpression": "v"},
        ranged: {"Keys": [{"pk": {"S": "p"}, "sk": {"N": "4"}}], "ConsistentRead": True},
    }, ReturnConsumedCapacity="TOTAL")
    assert sorted(i["v"]["N"] for i in result["Responses"][plain]) == ["1", "7"]
    assert result["Responses"][ranged] == [{"pk": {"S": "p"}, "sk": {"N": "4"}}]
    assert result["UnprocessedKeys"] == {}
    capacity = {c["TableName"]: c["CapacityUnits"] for c in result["ConsumedCapacity"]}
    assert capacity == {plain: 1.5, ranged: 1.0}
    ddb.batch_write_item(RequestItems={plain: [{"DeleteRequest": {"Key": {"pk": {"S": "k1"}}}}]})
    assert "Item" not in ddb.get_item(TableName=plain, Key={"pk": {"S": "k1"}})


def test_batch_limits_and_duplicates(ddb, tables):
    plain, _ = tables
    too_many = [{"PutRequest": {"Item": {"pk": {"S": f"x{i}"}}}} for i in range(26)]
    assert "Member must have length less than or equal to 25" in validation(
        ddb.batch_write_item, RequestItems={plain: too_many})
    duplicate = [{"PutRequest": {"Item": {"pk": {"S": "same"}}}},
                 {"DeleteRequest": {"Key": {"pk": {"S": "same"}}}}]
    assert validation(ddb.batch_write_item, RequestItems={plain: duplicate}) == \
        "Provided list of item keys contains duplicates"
    keys = [{"pk": {"S": f"x{i}"}} for i in range(101)]
    assert validation(ddb.batch_get_item, RequestItems={plain: {"Keys": keys}}) == \
        "Too many items requested for the BatchGetItem call"
    assert validation(ddb.batch_get_item, RequestItems={plain: {"Keys": [{"pk": {"S": "a"}}, {"pk": {"S": "a"}}]}}) == \
        "Provided list of item keys contains duplicates"
    code, message, status = error_of(ddb.batch_write_item,
                                     RequestItems={"missing-table": [{"PutRequest": {"Item": {"pk": {"S": "a"}}}}]})
    assert (code, status) == ("ResourceNotFoundException", 400)


def test_a_bad_item_fails_the_whole_batch(ddb, tables):
    plain, _ = tables
    requests = [{"PutRequest": {"Item": {"pk": {"S": "good"}}}},
                {"PutRequest": {"Item": {"pk": {"N": "1"}}}}]
    assert "Type mismatch for key pk" in validation(ddb.batch_write_item, RequestItems={plain: requests})
    assert "Item" not in ddb.get_item(TableName=plain, Key={"pk": {"S": "good"}})


def test_the_cli_batch_commands(server, tables):
    plain, _ = tables
    server.aws("dynamodb", "batch-write-item", "--request-items",
               '{"%s": [{"PutRequest": {"Item": {"pk": {"S": "cli"}}}}]}' % plain)
    got = server.aws("dynamodb", "batch-get-item", "--request-items",
                     '{"%s": {"Keys": [{"pk": {"S": "cli"}}]}}' % plain)
    assert got["Responses"][plain] == [{"pk": {"S": "cli"}}]
