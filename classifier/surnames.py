"""Chinese surnames (姓氏): the one definition that name recognition and name masking share.

Sources, so the lists can be reviewed and extended with a citation, never by guess:

- ``SINGLE``: the single-character surnames of Faker's ``zh_CN`` person provider (its
  ``last_names``, taken from zh.wikipedia's 中国姓氏排名; 398 names), kept here rather than
  imported because importing Faker costs ~0.3 s at every start, plus the register spellings
  付, 於, 肖, 闫 (surnames in their own right beside 傅, 萧, 阎). ``tests/classifier/test_surnames.py``
  checks the list against the installed Faker data.
- ``COMPOUND``: the compound surnames (复姓) of the 百家姓 (Song dynasty, public domain), in the
  text's order. The four-character runs of single surnames inside that section (晋楚闫法, 汝鄢涂钦,
  岳帅缑亢, 况后有琴, 商牟佘佴, 墨哈谯笪, 年爱阳佟, 言福) and 仉, 督, 伯, 赏 are read as single
  surnames, as the annotated editions do.

Every compound entry costs something: a name whose first two characters happen to spell one
(a single surname plus a given character) keeps one character more when masked. So an entry
needs a source; 吴铭, once in a list here, was none and leaked a character of 吴铭峰.
"""

from __future__ import annotations

SINGLE = (
    "王李张刘陈杨黄吴赵周徐孙马朱胡林郭何高罗郑梁谢宋唐许邓冯韩曹曾彭萧蔡潘田董袁于余叶蒋杜苏魏程吕丁沈任"
    "姚卢傅钟姜崔谭廖范汪陆金石戴贾韦夏邱方侯邹熊孟秦白江阎薛尹段雷黎史龙陶贺顾毛郝龚邵万钱严赖覃洪武莫孔"
    "汤向常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕"
    "单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚"
    "娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池"
    "查麻苑迟邝官封谈匡鞠惠荆乐冀郁胥南班储原栗燕楚鄢劳谌奚皮粟冼蔺楼盘满闻位厉伊仝区郜海阚花权强帅屠豆朴"
    "盖练廉禹井祖漆巴丰支卿国狄平计索宣晋相初门云容敬来扈晁芮都普阙浦戈伏鹿薄邸雍辜羊阿乌母裘亓修邰赫杭况"
    "那宿鲜印逯隆茹诸战慕危玉银亢嵇公哈湛宾戎勾茅利呼居揭干但尉冶斯元束檀衣信展阴昝智幸奉植衡富尧闭由"
    "付於肖闫"
)
COMPOUND: tuple[str, ...] = tuple((
    "万俟 司马 上官 欧阳 夏侯 诸葛 闻人 东方 赫连 皇甫 尉迟 公羊 澹台 公冶 宗政 濮阳 淳于 单于 太叔 申屠 "
    "公孙 仲孙 轩辕 令狐 钟离 宇文 长孙 慕容 鲜于 闾丘 司徒 司空 亓官 司寇 子车 颛孙 端木 巫马 公西 漆雕 "
    "乐正 壤驷 公良 拓跋 夹谷 宰父 谷梁 段干 百里 东郭 南门 呼延 归海 羊舌 微生 梁丘 左丘 东门 西门 南宫 "
    "第五"
).split())

_SINGLE = frozenset(SINGLE)
_COMPOUND = frozenset(COMPOUND)


def split_name(name: str) -> tuple[str, str] | None:
    """(surname, given name) of a Han name with a known surname, or None.

    A compound surname wins when something is left for the given name (欧阳娜娜 → 欧阳, 娜娜);
    a name that is only a compound surname is the single surname plus one character (欧阳).
    """
    if len(name) > 2 and name[:2] in _COMPOUND:
        return name[:2], name[2:]
    if len(name) > 1 and name[0] in _SINGLE:
        return name[0], name[1:]
    return None
