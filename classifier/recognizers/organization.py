"""Organisations: company and government body names."""

from __future__ import annotations

from classifier.recognizers.base import HAN, ShuweiRecognizer

ORG_SUFFIXES = ("有限责任公司", "股份有限公司", "有限公司", "公司", "集团", "委员会", "人民政府", "政府",
                "局", "厅", "署", "办公室", "办事处", "中心", "医院", "卫生院", "学校", "学院", "大学",
                "中学", "小学", "幼儿园", "银行", "研究院", "研究所", "事务所", "合作社", "协会", "基金会",
                "法院", "检察院", "派出所", "工厂", "厂", "商店", "酒店")


class OrganizationRecognizer(ShuweiRecognizer):
    """单位名称: a name ending in an organisation form (有限公司, 局, 委员会, 医院 …)."""

    ENTITY = "ORGANIZATION_NAME"
    CORE = f"[{HAN}0-9A-Za-z·（）()&\\-]{{2,40}}(?:{'|'.join(ORG_SUFFIXES)})"
    CONTEXT = ("单位", "单位名称", "工作单位", "企业名称", "公司", "公司名称", "机构", "机构名称", "组织",
               "org", "organization", "company", "employer", "dwmc", "gzdw", "qymc", "jgmc")
    MIN_LEN, MAX_LEN = 3, 50
    ASCII_ONLY = False
    REJECT = f"^(?:{'|'.join(ORG_SUFFIXES)})$"  # a bare form ("有限公司") names no organisation
