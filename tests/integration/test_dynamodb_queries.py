"""DynamoDB Query and Scan through boto3: sort key order for S, N and B,
every key condition, pagination with Limit and the 1 MB page, filters
after the limit, Select, and parallel scans that partition the table."""

import random

import pytest

from dynamodb_support import ddb, error_of, make_table, server, unique, validation  # noqa: F401


def query_all(ddb, **kwargs):
    items, pages, start = [], 0, None
    while True:
        if start:
            kwargs["ExclusiveStartKey"] = start
        page = ddb.query(**kwargs)
        items += page.get("Items", [])
        pages += 1
        start = page.get("LastEvaluatedKey")
        if not start:
            return items, pages


def test_number_sort_keys_order_numerically(ddb):
    table = make_table(ddb, range_type="N")
    numbers = ["-1E+5", "-10", "-1.5", "-0.001", "0", "1E-10", "0.5", "2", "10", "100.25", "1E+20"]
    shuffled = numbers[:]
    random.Random(7).shuffle(shuffled)
    for n in shuffled:
        ddb.put_item(TableName=table, Item={"pk": {"S": "p"}, "sk": {"N": n}})
    ddb.put_item(TableName=table, Item={"pk": {"S": "other"}, "sk": {"N": "3"}})
    got = ddb.query(TableName=table, KeyConditionExpression="pk = :p",
                    ExpressionAttributeValues={":p": {"S": "p"}})["Items"]
    assert [float(i["sk"]["N"]) for i in got] == [float(n) for n in numbers]
    backwards = ddb.query(TableName=table, KeyConditionExpression="pk = :p", ScanIndexForward=False,
                          ExpressionAttributeValues={":p": {"S": "p"}})["Items"]
    assert backwards == list(reversed(got))


def test_string_and_binary_sort_keys_order_by_unsigned_bytes(ddb):
    strings = make_table(ddb, range_type="S")
    values = ["", "A", "Z", "a", "aa", "ab", "b", "é", "\U0001F600"]
    for v in values[1:]:
        ddb.put_item(TableName=strings, Item={"pk": {"S": "p"}, "sk": {"S": v}})
    got = ddb.query(TableName=strings, KeyConditionExpression="pk = :p",
                    ExpressionAttributeValues={":p": {"S": "p"}})["Items"]
    assert [i["sk"]["S"] for i in got] == sorted(values[1:], key=lambda s: s.encode())
    binary = make_table(ddb, range_type="B")
    blobs = [b"\x00", b"\x00\x00", b"\x01", b"\x7f", b"\x80", b"\xff"]
    for blob in reversed(blobs):
        ddb.put_item(TableName=binary, Item={"pk": {"S": "p"}, "sk": {"B": blob}})
    got = ddb.query(TableName=binary, KeyConditionExpression="pk = :p",
                    ExpressionAttributeValues={":p": {"S": "p"}})["Items"]
    assert [i["sk"]["B"] for i in got] == blobs


@pytest.fixture(scope="module")
def numbered(ddb):
    table = make_table(ddb, range_type="N")
    with_letters = make_table(ddb, range_type="S")
    for n in range(1, 21):
        ddb.put_item(TableName=table, Item={"pk": {"S": "p"}, "sk": {"N": str(n)}, "odd": {"BOOL": n % 2 == 1}})
    for word in ["apple", "apricot", "banana", "ap", "b"]:
        ddb.put_item(TableName=with_letters, Item={"pk": {"S": "p"}, "sk": {"S": word}})
    return table, with_letters


@pytest.mark.parametrize("condition, values, expected", [
    ("sk = :a", {":a": 5}, [5]),
    ("sk < :a", {":a": 3}, [1, 2]),
    ("sk <= :a", {":a": 3}, [1, 2, 3]),
    ("sk > :a", {":a": 18}, [19, 20]),
    ("sk >= :a", {":a": 18}, [18, 19, 20]),
    ("sk BETWEEN :a AND :b", {":a": 4, ":b": 7}, [4, 5, 6, 7]),
    (":a < sk", {":a": 19}, [20]),
])
def test_sort_key_conditions(ddb, numbered, condition, values, expected):
    table, _ = numbered
    attribute_values = {k: {"N": str(v)} for k, v in values.items()}
    attribute_values[":p"] = {"S": "p"}
    got = ddb.query(TableName=table, KeyConditionExpression=f"pk = :p AND {condition}",
                    ExpressionAttributeValues=attribute_values)["Items"]
    assert [int(i["sk"]["N"]) for i in got] == expected


def test_begins_with_on_the_sort_key(ddb, numbered):
    _, table = numbered
    got = ddb.query(TableName=table, KeyConditionExpression="pk = :p AND begins_with(sk, :ap)",
                    ExpressionAttributeValues={":p": {"S": "p"}, ":ap": {"S": "ap"}})["Items"]
    assert [i["sk"]["S"] for i in got] == ["ap", "apple", "apricot"]


def test_limit_pages_and_filters_apply_after_the_limit(ddb, numbered):
    table, _ = numbered
    page = ddb.query(TableName=table, KeyConditionExpression="pk = :p", Limit=5,
                     FilterExpression="#o = :t", ExpressionAttributeNames={"#o": "odd"},
                     ExpressionAttributeValues={":p": {"S": "p"}, ":t": {"BOOL": True}})
    assert page["ScannedCount"] == 5 and page["Count"] == 3
    assert page["LastEvaluatedKey"] == {"pk": {"S": "p"}, "sk": {"N": "5"}}
    items, pages = query_all(ddb, TableName=table, KeyConditionExpression="pk = :p", Limit=6,
                             ExpressionAttributeValues={":p": {"S": "p"}})
    assert [int(i["sk"]["N"]) for i in items] == list(range(1, 21))
    assert pages == 4  # 6 + 6 + 6 + 2
    backwards, _ = query_all(ddb, TableName=table, KeyConditionExpression="pk = :p", Limit=7,
                             ScanIndexForward=False, ExpressionAttributeValues={":p": {"S": "p"}})
    assert [int(i["sk"]["N"]) for i in backwards] == list(range(20, 0, -1))
    paginated = ddb.get_paginator("query").paginate(
        TableName=table, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}},
        PaginationConfig={"PageSize": 3}).build_full_result()
    assert paginated["Count"] == 20


def test_select_count_and_projection(ddb, numbered):
    table, _ = numbered
    counted = ddb.query(TableName=table, KeyConditionExpression="pk = :p", Select="COUNT",
                        ExpressionAttributeValues={":p": {"S": "p"}})
    assert counted["Count"] == 20 and "Items" not in counted
    projected = ddb.query(TableName=table, KeyConditionExpression="pk = :p", ProjectionExpression="sk",
                          Limit=2, ExpressionAttributeValues={":p": {"S": "p"}})["Items"]
    assert projected == [{"sk": {"N": "1"}}, {"sk": {"N": "2"}}]
    assert validation(ddb.query, TableName=table, KeyConditionExpression="pk = :p",
                      Select="SPECIFIC_ATTRIBUTES", ExpressionAttributeValues={":p": {"S": "p"}}).startswith(
        "One or more parameter values were invalid: Must specify the AttributesToGet or ProjectionExpression")


def test_pages_stop_at_one_megabyte_read_before_filtering(ddb):
    table = make_table(ddb, range_type="N")
    for n in range(12):  # 12 items of about 100 KB: 1 MB is reached at the 11th
        ddb.put_item(TableName=table, Item={"pk": {"S": "p"}, "sk": {"N": str(n)}, "d": {"S": "x" * 100_000}})
    page = ddb.query(TableName=table, KeyConditionExpression="pk = :p",
                     FilterExpression="attribute_not_exists(d)", ExpressionAttributeValues={":p": {"S": "p"}})
    assert page["Count"] == 0
    assert page["ScannedCount"] == 11
    assert page["LastEvaluatedKey"]["sk"] == {"N": "10"}
    rest = ddb.query(TableName=table, KeyConditionExpression="pk = :p", ExclusiveStartKey=page["LastEvaluatedKey"],
                     ExpressionAttributeValues={":p": {"S": "p"}})
    assert rest["ScannedCount"] == 1 and "LastEvaluatedKey" not in rest
    # Read units count what was read: 2 items of ~100 KB in 4 KB units, halved (eventually consistent).
    scanned = ddb.scan(TableName=table, Limit=2, ReturnConsumedCapacity="TOTAL")
    assert scanned["ConsumedCapacity"]["CapacityUnits"] == pytest.approx(25.0, abs=0.5)


@pytest.mark.parametrize("condition, message", [
    ("sk = :n", "Query condition missed key schema element: pk"),
    ("pk < :p", "Query key condition not supported"),
    ("pk = :p OR sk = :n", "Invalid operator used in KeyConditionExpression: OR"),
    ("pk = :p AND sk = :n AND sk > :n", "KeyConditionExpressions must only contain one condition per key"),
    ("pk = :p AND begins_with(sk, :p)",
     "One or more parameter values were invalid: Condition parameter type does not match schema type"),
    ("pk = :p AND size(sk) > :n", "KeyConditionExpressions cannot contain nested operations"),
])
def test_key_condition_errors(ddb, numbered, condition, message):
    table, _ = numbered
    values = {":p": {"S": "p"}, ":n": {"N": "1"}}
    values = {k: v for k, v in values.items() if k in condition}
    assert validation(ddb.query, TableName=table, KeyConditionExpression=condition,
                      ExpressionAttributeValues=values) == message


def test_query_refuses_what_dynamodb_refuses(ddb, numbered):
    table, _ = numbered
    assert validation(ddb.query, TableName=table) == \
        "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request."
    assert validation(ddb.query, TableName=table, IndexName="byOther", KeyConditionExpression="pk = :p",
                      ExpressionAttributeValues={":p": {"S": "p"}}) == \
        "The table does not have the specified index: byOther"
    legacy = ddb.query(TableName=table, KeyConditions={
        "pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p"}]},
        "sk": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [{"N": "2"}, {"N": "3"}]}},
        QueryFilter={"odd": {"ComparisonOperator": "EQ", "AttributeValueList": [{"BOOL": True}]}})
    assert [i["sk"]["N"] for i in legacy["Items"]] == ["3"]


def test_parallel_scan_segments_partition_the_table(ddb):
    table = make_table(ddb, hash_type="N")
    with ddb_batch(ddb, table) as put:
        for n in range(300):
            put({"pk": {"N": str(n)}})
    for total in (1, 3, 7):
        seen = []
        for segment in range(total):
            start = None
            while True:
                kwargs = dict(TableName=table, Segment=segment, TotalSegments=total, Limit=40)
                if start:
                    kwargs["ExclusiveStartKey"] = start
                page = ddb.scan(**kwargs)
                seen += [int(i["pk"]["N"]) for i in page["Items"]]
                start = page.get("LastEvaluatedKey")
                if not start:
                    break
        assert sorted(seen) == list(range(300)), total  # every item once
    message = validation(ddb.scan, TableName=table, Segment=3, TotalSegments=2)
    assert message == ("The Segment parameter is zero-based and must be less than parameter TotalSegments: "
                       "Segment: 3 is not less than TotalSegments: 2")


def test_scan_filters_and_counts(ddb, numbered):
    table, _ = numbered
    page = ddb.scan(TableName=table, FilterExpression="sk > :n", ExpressionAttributeValues={":n": {"N": "15"}})
    assert page["Count"] == 5 and page["ScannedCount"] == 20
    legacy = ddb.scan(TableName=table, ScanFilter={"sk": {"ComparisonOperator": "IN",
                                                          "AttributeValueList": [{"N": "1"}, {"N": "2"}]}})
    assert sorted(int(i["sk"]["N"]) for i in legacy["Items"]) == [1, 2]


class ddb_batch:
    """Puts through BatchWriteItem, 25 at a time."""

    def __init__(self, ddb, table):
        self.ddb, self.table, self.pending = ddb, table, []

    def __enter__(self):
        return self.put

    def put(self, item):
        self.pending.append({"PutRequest": {"Item": item}})
        if len(self.pending) == 25:
            self.flush()

    def flush(self):
        if self.pending:
            self.ddb.batch_write_item(RequestItems={self.table: self.pending})
            self.pending = []

    def __exit__(self, *exc):
        self.flush()
