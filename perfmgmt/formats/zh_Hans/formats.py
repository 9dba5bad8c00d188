# Django's zh_Hans formats group digits by nothing; shops and finance staff read amounts as
# 1,479,306.58. Only these settings are overridden; dates keep Django's Chinese formats.
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
