"""Health: disease and diagnosis names (a dictionary of common ICD-10 Chinese names + suffix forms)."""

from __future__ import annotations

from classifier.recognizers.base import HAN, ShuweiRecognizer

# Common ICD-10 names (国家临床版) that no suffix rule catches, plus frequent chronic conditions.
DIAGNOSES = (
    "高血压", "原发性高血压", "糖尿病", "2型糖尿病", "1型糖尿病", "冠心病", "哮喘", "支气管哮喘",
    "痛风", "白血病", "艾滋病", "脑卒中", "脑梗死", "脑出血", "心律失常", "心房颤动", "偏头痛",
    "抑郁发作", "焦虑障碍", "精神分裂症", "阿尔茨海默病", "帕金森病", "癫痫", "贫血", "缺铁性贫血",
    "高脂血症", "骨质疏松", "腰椎间盘突出", "颈椎病", "慢性阻塞性肺疾病", "慢阻肺", "乙型病毒性肝炎",
    "丙型病毒性肝炎", "肺结核", "结核病", "梅毒", "淋病", "尖锐湿疣", "新型冠状病毒感染", "流行性感冒",
    "上呼吸道感染", "肺炎", "支气管炎", "胃炎", "胃溃疡", "十二指肠溃疡", "阑尾炎", "胆囊炎", "胆结石",
    "肾结石", "尿路感染", "慢性肾脏病", "肾衰竭", "肝硬化", "脂肪肝", "甲状腺功能亢进", "甲状腺功能减退",
    "类风湿关节炎", "系统性红斑狼疮", "银屑病", "湿疹", "白内障", "青光眼", "近视", "中耳炎", "鼻窦炎",
    "肺癌", "胃癌", "肝癌", "乳腺癌", "结直肠癌", "宫颈癌", "食管癌", "鼻咽癌", "甲状腺癌", "前列腺癌",
    "淋巴瘤", "骨折", "股骨颈骨折", "心力衰竭", "心肌梗死", "急性心肌梗死", "先天性心脏病", "自闭症",
    "孤独症", "注意缺陷多动障碍", "不孕症", "妊娠期糖尿病", "子宫肌瘤", "痔", "疝气", "带状疱疹",
)
_SUFFIXES = ("综合征", "病", "症", "炎", "癌", "瘤", "骨折", "感染", "损伤", "中毒", "结石", "出血",
             "梗死", "梗塞", "衰竭", "硬化", "畸形", "障碍", "溃疡", "疝", "热", "疹", "瘫")


class DiagnosisRecognizer(ShuweiRecognizer):
    """疾病诊断: a dictionary disease name, or a short term ending in a disease form (…炎, …癌, …综合征)."""

    ENTITY = "MEDICAL_DIAGNOSIS"
    CORE = (f"{'|'.join(sorted(DIAGNOSES, key=len, reverse=True))}"
            f"|[{HAN}0-9（）()]{{1,16}}(?:{'|'.join(_SUFFIXES)})")
    CONTEXT = ("诊断", "疾病", "病种", "病名", "诊断名称", "疾病名称", "主要诊断", "既往病史", "病史",
               "diagnosis", "disease", "icd", "condition", "zd", "jbzd", "zyzd", "jbmc", "zdmc")
    MIN_LEN, MAX_LEN = 1, 30
    ASCII_ONLY = False
    EVIDENCE = "value pattern+disease dictionary"
