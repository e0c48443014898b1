"""DynamoDB's expression language through boto3: condition functions and
operators, update actions on nested documents, lists and sets, and the
errors DynamoDB gives for bad expressions."""

import pytest

from dynamodb_support import ddb, make_table, server, unique, validation  # noqa: F401


@pytest.fixture(scope="module")
def table(ddb):
    return make_table(ddb)


def put(ddb, table, **attributes):
    key = {"pk": {"S": unique("item")}}
    ddb.put_item(TableName=table, Item=dict(key, **attributes))
    return key


def holds(ddb, table, key, condition, values=None, names=None):
    """Whether `condition` holds for the item, by a conditional no-op update."""
    kwargs = {"ConditionExpression": condition}
    if values:
        kwargs["ExpressionAttributeValues"] = values
    if names:
        kwargs["ExpressionAttributeNames"] = names
    try:
        ddb.update_item(TableName=table, Key=key, UpdateExpression="SET touched = :t",
                        **dict(kwargs, ExpressionAttributeValues=dict(values or {}, **{":t": {"BOOL": True}})))
        return True
    except ddb.exceptions.ConditionalCheckFailedException:
        return False


def test_condition_operators_and_functions(ddb, table):
    key = put(ddb, table, n={"N": "10"}, s={"S": "hello world"}, tags={"SS": ["red", "blue"]},
              doc={"M": {"list": {"L": [{"N": "1"}, {"S": "two"}]}}}, b={"B": b"\x01\x02"})
    v = {":five": {"N": "5"}, ":ten": {"N": "10"}, ":hello": {"S": "hello"}, ":red": {"S": "red"},
         ":two": {"S": "two"}, ":n": {"S": "N"}, ":b1": {"B": b"\x01"}}
    assert holds(ddb, table, key, "n BETWEEN :five AND :ten", {":five": v[":five"], ":ten": v[":ten"]})
    assert holds(ddb, table, key, "n > :five AND n <= :ten", {":five": v[":five"], ":ten": v[":ten"]})
    assert not holds(ddb, table, key, "n < :five", {":five": v[":five"]})
    assert holds(ddb, table, key, "n IN (:five, :ten)", {":five": v[":five"], ":ten": v[":ten"]})
    assert holds(ddb, table, key, "begins_with(s, :hello)", {":hello": v[":hello"]})
    assert holds(ddb, table, key, "begins_with(b, :b1)", {":b1": v[":b1"]})
    assert holds(ddb, table, key, "contains(tags, :red) AND contains(s, :hello)",
                 {":red": v[":red"], ":hello": v[":hello"]})
    assert holds(ddb, table, key, "contains(doc.#l, :two)", {":two": v[":two"]}, {"#l": "list"})
    assert holds(ddb, table, key, "size(tags) = :two_n", {":two_n": {"N": "2"}})
    assert holds(ddb, table, key, "size(doc.#l) < :ten", {":ten": v[":ten"]}, {"#l": "list"})
    assert holds(ddb, table, key, "attribute_type(n, :n)", {":n": v[":n"]})
    assert holds(ddb, table, key, "attribute_exists(doc.#l[1]) AND attribute_not_exists(doc.#l[2])",
                 names={"#l": "list"})
    assert holds(ddb, table, key, "NOT (n = :five) OR s = :hello", {":five": v[":five"], ":hello": v[":hello"]})
    # Values of another type never compare: false, not an error.
    assert not holds(ddb, table, key, "s > :five", {":five": v[":five"]})
    assert holds(ddb, table, key, "s <> :five", {":five": v[":five"]})


def test_update_actions_on_documents_lists_and_sets(ddb, table):
    key = put(ddb, table, doc={"M": {"a": {"L": [{"N": "0"}, {"N": "1"}, {"N": "2"}]}}},
              tags={"SS": ["a", "b"]}, spare={"SS": ["a", "z"]}, count={"N": "1"})
    ddb.update_item(
        TableName=table, Key=key,
        UpdateExpression=("SET doc.a[1] = :x, doc.added = :x, doc.a[9] = :end, more = list_append(:l, :l), "
                          "fallback = if_not_exists(nothing, :x), #c = #c - :one "
                          "ADD tags :c DELETE spare :a"),
        ExpressionAttributeNames={"#c": "count"},
        ExpressionAttributeValues={":x": {"S": "x"}, ":end": {"S": "end"}, ":l": {"L": [{"N": "7"}]},
                                   ":one": {"N": "1.5"}, ":c": {"SS": ["c"]}, ":a": {"SS": ["a"]}})
    item = ddb.get_item(TableName=table, Key=key)["Item"]
    assert item["doc"] == {"M": {"a": {"L": [{"N": "0"}, {"S": "x"}, {"N": "2"}, {"S": "end"}]},
                                 "added": {"S": "x"}}}
    assert item["more"] == {"L": [{"N": "7"}, {"N": "7"}]}
    assert item["fallback"] == {"S": "x"}
    assert item["count"] == {"N": "-0.5"}
    assert sorted(item["tags"]["SS"]) == ["a", "b", "c"]
    assert item["spare"] == {"SS": ["z"]}
    ddb.update_item(TableName=table, Key=key, UpdateExpression="REMOVE doc.a[0], doc.a[2], fallback")
    item = ddb.get_item(TableName=table, Key=key)["Item"]
    assert item["doc"]["M"]["a"] == {"L": [{"S": "x"}, {"S": "end"}]}
    assert "fallback" not in item


@pytest.mark.parametrize("update, values, message", [
    ("SET a = :v", {":v": {"N": "1"}, ":w": {"N": "2"}},
     "Value provided in ExpressionAttributeValues unused in expressions: keys: {:w}"),
    ("SET a = :missing", {":v": {"N": "1"}},
     "Invalid UpdateExpression: An expression attribute value used in expression is not defined; "
     "attribute value: :missing"),
    ("SET name = :v", {":v": {"N": "1"}},
     "Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: name"),
    ("SET a = :v, a.b = :v", {":v": {"N": "1"}},
     "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite "
     "one of these paths; path one: [a], path two: [a, b]"),
    ("SET a = :v REMOVE b SET c = :v", {":v": {"N": "1"}},
     'Invalid UpdateExpression: The "SET" section can only be used once in an update expression;'),
    ("ADD a :v", {":v": {"S": "x"}},
     "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, "
     "operand type: STRING"),
    ("SET a = :v +", {":v": {"N": "1"}},
     'Invalid UpdateExpression: Syntax error; token: "<EOF>", near: "+"'),
    ("SET a = nothing + :v", {":v": {"N": "1"}},
     "The provided expression refers to an attribute that does not exist in the item"),
    ("SET a = list_append(:v, :v)", {":v": {"N": "1"}},
     "Invalid UpdateExpression: Incorrect operand type for operator or function; operator or "
     "function: list_append, operand type: N"),
    ("SET deep.er = :v", {":v": {"N": "1"}},
     "The document path provided in the update expression is invalid for update"),
])
def test_update_expression_errors(ddb, table, update, values, message):
    key = put(ddb, table)
    assert validation(ddb.update_item, TableName=table, Key=key, UpdateExpression=update,
                      ExpressionAttributeValues=values) == message


@pytest.mark.parametrize("condition, message", [
    ("a = ", 'Invalid ConditionExpression: Syntax error; token: "<EOF>", near: "="'),
    ("a == :v", 'Invalid ConditionExpression: Syntax error; token: "=", near: "== :v"'),
    ("a-b", 'Invalid ConditionExpression: Syntax error; token: "-", near: "a-b"'),
    ("attribute_exists(:v)",
     "Invalid ConditionExpression: Operator or function requires a document path; operator or "
     "function: attribute_exists"),
    ("bogus(a)", "Invalid ConditionExpression: Invalid function name; function: bogus"),
    ("size(a)",
     "Invalid ConditionExpression: The function is not allowed to be used this way in an "
     "expression; function: size"),
    ("#undefined = :v",
     "Invalid ConditionExpression: An expression attribute name used in the document path is not "
     "defined; attribute name: #undefined"),
    ("a BETWEEN :v AND :low",
     "Invalid ConditionExpression: The BETWEEN operator requires upper bound to be greater than or "
     "equal to lower bound; lower bound operand: AttributeValue: {N:1}, upper bound operand: "
     "AttributeValue: {N:0}"),
])
def test_condition_expression_errors(ddb, table, condition, message):
    key = put(ddb, table)
    values = {":v": {"N": "1"}, ":low": {"N": "0"}}
    if ":low" not in condition:
        values.pop(":low")
    if ":v" not in condition:
        values.pop(":v")
    kwargs = {"ExpressionAttributeValues": values} if values else {}
    assert validation(ddb.delete_item, TableName=table, Key=key, ConditionExpression=condition,
                      **kwargs) == message


def test_names_and_values_must_be_used_and_well_formed(ddb, table):
    key = put(ddb, table)
    assert validation(ddb.get_item, TableName=table, Key=key, ProjectionExpression="a",
                      ExpressionAttributeNames={"#a": "a"}) == \
        "Value provided in ExpressionAttributeNames unused in expressions: keys: {#a}"
    assert validation(ddb.get_item, TableName=table, Key=key,
                      ExpressionAttributeNames={"#a": "a"}) == \
        "ExpressionAttributeNames can only be specified when using expressions"
    assert validation(ddb.put_item, TableName=table, Item=key,
                      ExpressionAttributeValues={":a": {"S": "a"}}) == \
        "ExpressionAttributeValues can only be specified when using expressions: ConditionExpression is null"
    assert validation(ddb.put_item, TableName=table, Item=key, ConditionExpression="a = :a",
                      ExpressionAttributeValues={"a": {"S": "a"}}) == \
        'ExpressionAttributeValues contains invalid key: Syntax error; key: "a"'
