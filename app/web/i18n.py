"""Page words: English is the source (a catalogue msgid), Chinese comes from the ONE catalogue the API uses
(app.i18n, written by app/locale/build_po.py). Templates say ``t("English text")``; a few values shown as labels
(funnel steps, states, tracks, regions, milestone kinds, dashboard sections) are named by a key, whose English
text is below: there is no second copy of any translation here.
"""

from __future__ import annotations

from functools import cache

from app.i18n import LANGS, word

__all__ = ["LABELS", "LANGS", "label", "translator"]

# key -> English (the msgid): values the pages show as labels, and the dashboard's section names
LABELS: dict[str, str] = {
    # roles, organisation kinds, invitation states, records the commission writes notes on
    "hospital_staff": "Hospital staff", "company_staff": "Company staff", "commission": "Commerce commission",
    "admin": "Administrator", "enterprise": "Enterprise", "lab": "University lab", "platform": "Shared platform",
    "invitation_pending": "Waiting", "invitation_used": "Accepted", "invitation_revoked": "Withdrawn",
    "invitation_expired": "Expired", "capability": "Capability", "organisation": "Organisation",
    # the dashboard
    'title': 'Putuo clinical-needs pipeline',
    'subtitle': 'District commerce commission: clinical needs from filing to clinical use',
    'filters': 'Filters', 'date_from': 'Published from', 'date_to': 'to', 'track': 'Track', 'region': 'Region',
    'stale_days': 'Stalled after (days)', 'all': 'All', 'apply': 'Apply', 'csv': 'CSV', 'funnel': 'Funnel',
    'step': 'Step', 'count': 'Count', 'conversion': 'Step conversion', 'overall': 'Of needs filed',
    'durations': 'Time in each stage (days)', 'stage': 'Stage', 'median': 'Median', 'p90': '90th percentile',
    'trend': 'Trend by month (month the need was published)', 'stalled': 'Stalled partnerships',
    'waiting': 'Needs waiting for a first interested company', 'need': 'Need', 'hospital': 'Hospital',
    'partner': 'Partner', 'state': 'State', 'last_activity': 'Last activity', 'idle_days': 'Idle days',
    'waiting_days': 'Days waiting', 'department': 'Department', 'matching': 'Matching efficiency',
    'open_needs': 'Open needs', 'open_with_interest': 'with an interested company',
    'share_open_with_interest': 'share', 'needs_with_interest': 'Needs with interest (all)',
    'median_days_to_first_interest': 'Median days to first interest',
    'p90_days_to_first_interest': '90th percentile days to first interest', 'breakdowns': 'Breakdowns',
    'none': 'None', 'engagement': 'Partnership', 'history': 'History', 'milestones': 'Milestones',
    'participants': 'Participants', 'back': 'Back to the dashboard', 'readonly': 'Read-only view', 'date': 'Date',
    'reference': 'Reference', 'comment': 'Comment', 'from': 'From', 'to': 'To', 'at': 'At', 'kind': 'Kind',
    'headline': 'At a glance', 'shanghai_time': 'Shanghai time', 'kpi_open_needs': 'Open needs',
    'kpi_without_fit': 'Open needs without a fitting partner', 'kpi_active': 'Partnerships under way',
    'kpi_need_to_intent': 'Median days from need to intent', 'kpi_brokered': 'Brokered / matched partnerships',
    'occurred': 'Happened', 'recorded': 'Recorded', 'pathway': 'Pathway', 'documents': 'Documents',
    'unconfirmed': 'unconfirmed by its owner', 'owner_hospital': "the hospital's evidence",
    'owner_animal_facility': "the animal facility's evidence", 'owner_lead': "the lead company's evidence",
    'role_rnd': 'R&D partner', 'role_animal_facility': 'Animal facility', 'role_manufacturing': 'Manufacturing',
    'role_testing': 'Testing', 'role_registration_support': 'Registration support',
    'role_clinical_site': 'Clinical site', 'role_other': 'Other', 'responsible': 'Responsible', 'role': 'Role',
    'lead': 'Lead company', 'seconds_in_state': 'Days in each state', 'title_col': 'Title', 'generated': 'Generated',
    'partnerships': 'Partnerships (furthest stage first)', 'reached': 'Furthest stage',
    'meeting': 'Meeting', 'cooperation_agreement': 'Cooperation agreement', 'training_session': 'Training session',
    'clinical_observation': 'Clinical observation', 'design_review': 'Design review', 'prototype': 'Prototype',
    'animal_protocol': 'Animal protocol', 'iacuc_approval': 'IACUC approval',
    'animal_trial_report': 'Animal trial report', 'clinical_ethics_approval': 'Clinical ethics approval',
    'clinical_evaluation_report': 'Clinical evaluation report', 'type_testing': 'Type testing',
    'registration_certificate': 'Registration certificate', 'filing_record': 'Class I filing record',
    'admission_approval': 'Hospital admission approval', 'participant': 'Participant',
    'invited': 'Invited (pending)', 'active': 'Active', 'declined': 'Declined', 'device': 'Class II/III device',
    'samd': 'Software / AI device', 'ivd': 'IVD reagent', 'class_i': 'Class I filing',
    'registered': 'Registered product', 'filed': 'Needs filed', 'matched': 'Matched', 'interested': 'Interested',
    'proposed': 'Proposed', 'intent_signed': 'Intent signed', 'training_observation': 'Training & observation',
    'rnd': 'R&D', 'animal_trial': 'Animal trials', 'clinical_evaluation': 'Clinical evaluation',
    'registration': 'Registration', 'clinical_use': 'Clinical use',
    'clinical_performance': 'Clinical performance evaluation', 'filing': 'Filing',
    'hospital_admission': 'Hospital admission', 'on_hold': 'On hold', 'withdrawn': 'Withdrawn',
    'terminated': 'Terminated', 'interventional_implant': 'Interventional & implant', 'imaging': 'Imaging',
    'therapy_monitoring': 'Therapy & monitoring', 'diagnostics_ivd': 'Diagnostics & IVD',
    'digital_health': 'Digital health', 'biotech_rnd': 'Pharma & biotech R&D',
    'rehab_eldercare': 'Rehab & elderly care', 'putuo': 'Putuo', 'shanghai': 'Rest of Shanghai',
    'nanjing': 'Nanjing', 'wuxi': 'Wuxi', 'changzhou': 'Changzhou', 'suzhou': 'Suzhou', 'nantong': 'Nantong',
    'zhenjiang': 'Zhenjiang', 'taizhou': 'Taizhou', 'other': 'Other', 'jiangsu': 'Jiangsu corridor (7 cities)',
    'dim_track': 'By track', 'dim_hospital': 'By hospital', 'dim_department': 'By department',
    'dim_partner': 'By partner (engagements)', 'dim_region': 'By hospital region',
    'dim_partner_region': 'By partner region (engagements)', 'dim_month': 'By month',
}


def label(key: str | None, lang: str) -> str:
    """A key's or an English text's words in ``lang``; unknown text is shown as it is."""
    if key is None:
        return ""
    return word(LABELS.get(key, key), lang)


@cache
def translator(lang: str):
    def t(key: str | None) -> str:
        return label(key, lang)

    return t
