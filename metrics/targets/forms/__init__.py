"""Forms of the target pages: a target (targets), the revenue decomposition's scope and figures
(decompose), a promotion (promotions), staff's counts (records), and the fields they share
(fields). Choices are limited to what the viewer may set (teams.selectors.scoping); the services
check again and their errors are shown on the fields.

Rates are typed as percentages (35 means 35%) and handed to the services as fractions (0.35), the
unit the models keep."""
